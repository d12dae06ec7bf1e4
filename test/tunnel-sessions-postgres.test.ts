import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBroker, type TestBroker } from './support/broker.js';
import { type CliResult, collect, runCli, spawnCli } from './support/cli.js';
import { startPostgres, type TestPostgres } from './support/postgres.js';
import { childrenOf, eventually } from './tunnel-fixtures.js';

/**
 * The broker on the PostgreSQL store (`store: postgres://…`), driven through the real CLI: what
 * it records of a session must land in PostgreSQL as it does in SQLite. One embedded server
 * holds both the target database (`app`) and the broker's store (`gatectl_store`); every
 * assertion reads the store with plain SQL, not through the broker's own connection.
 */
let pg: TestPostgres;
let broker: TestBroker;
const STORE_DB = 'gatectl_store';
const outputs: string[] = [];
let upstreamPassword: string;

beforeAll(async () => {
  pg = await startPostgres();
  upstreamPassword = `Upstream-${randomBytes(12).toString('hex')}`;
  await pg.query(`create role app login password '${upstreamPassword}'`);
  await pg.query('create database app owner app');
  const storeUrl = await pg.createDatabase(STORE_DB);
  broker = await startTestBroker(
    {
      store: storeUrl,
      targets: [
        {
          name: 'db',
          kind: 'postgres',
          address: `${pg.host}:${pg.port}`,
          database: 'app',
          credentials: { username: 'app', password: { env: 'APP_DB_PASSWORD' } },
          access: { groups: ['eng'], auto_approve: ['eng'] },
        },
      ],
    },
    { env: { APP_DB_PASSWORD: upstreamPassword } },
  );
});
afterAll(async () => {
  await broker?.close();
  await pg?.stop();
});

/** Reads the broker's store directly (int8 comes back as text: compared as numbers). */
async function store<T = Record<string, unknown>>(text: string, ...values: unknown[]): Promise<T[]> {
  const { default: pgLib } = await import('pg');
  const client = new pgLib.Client({ connectionString: pg.url(STORE_DB) });
  await client.connect();
  try {
    return (await client.query(text, values)).rows as T[];
  } finally {
    await client.end();
  }
}

async function cli(identity: string, args: string[]): Promise<CliResult> {
  const r = await runCli(args, {
    env: {
      GATECTL_TOKEN: await broker.token({ id: identity, groups: ['eng'] }),
      GATECTL_BROKER: broker.url,
    },
    timeoutMs: 40_000,
  });
  outputs.push(r.stdout, r.stderr);
  return r;
}

interface SessionRow {
  id: string;
  tunnel_id: string;
  grant_id: string;
  identity: string;
  target: string;
  protocol: string;
  client_addr: string | null;
  client_tool: string | null;
  started_at: string;
  ended_at: string | null;
  bytes_in: string;
  bytes_out: string;
  end_reason: string | null;
}

describe('sessions on the PostgreSQL store', () => {
  it('runs on PostgreSQL, not on a SQLite file', () => {
    expect(broker.broker.ctx.store.dialect).toBe('postgres');
    expect(existsSync(join(broker.dir, 'broker.db'))).toBe(false);
  });

  it('records the session and each statement of psql, with text the array insert must escape', async () => {
    const id = 'pg-store@example.com';
    // Quotes, backslashes, braces, commas, the word NULL and characters beyond the BMP: each is
    // special in the array literals that carry a batch of events to PostgreSQL.
    const tricky = `select 'it''s "quoted", {braced}, back\\slash, NULL, ℌ 😀' as "NULL"`;
    const statements = [
      tricky,
      'create table items (n int)',
      'insert into items select generate_series(1, 1234)',
      'select 1/0',
      'select count(*) from items',
      'select\n  n\nfrom items\nwhere n <= 3\norder by n',
    ];
    const r = await cli(id, ['exec', 'db', '--', 'psql', '-XAt', ...statements.flatMap((s) => ['-c', s])]);
    expect(r.stderr).toContain('ERROR:  division by zero');
    expect(r.stdout).toBe(
      `it's "quoted", {braced}, back\\slash, NULL, ℌ 😀\nCREATE TABLE\nINSERT 0 1234\n1234\n1\n2\n3\n`,
    );
    expect(r.code).toBe(0);

    const grants = await store<{ id: string }>('select id from grants where identity = $1', id);
    const tunnels = await store<{ id: string; closed_at: string | null }>(
      'select id, closed_at from tunnels where identity = $1',
      id,
    );
    expect(grants).toHaveLength(1);
    expect(tunnels).toHaveLength(1);
    expect(tunnels[0]!.closed_at).not.toBeNull();

    const sessions = await store<SessionRow>('select * from sessions where identity = $1', id);
    expect(sessions).toHaveLength(1);
    const s = sessions[0]!;
    expect(s).toMatchObject({
      identity: id,
      target: 'db',
      protocol: 'postgres',
      grant_id: grants[0]!.id,
      tunnel_id: tunnels[0]!.id,
      client_tool: 'psql',
      end_reason: 'client terminated',
    });
    expect(s.id).toMatch(/^se_/);
    expect(s.client_addr).toBe('127.0.0.1');
    expect(Number(s.ended_at)).toBeGreaterThanOrEqual(Number(s.started_at));
    // The 1234-row insert's text and the results of every statement went through this session.
    expect(Number(s.bytes_in)).toBeGreaterThan(statements.join('').length);
    expect(Number(s.bytes_out)).toBeGreaterThan(Number(s.bytes_in));
    const [end] = await store<{ data: string }>(
      `select data from audit_events where type = 'session.end' and actor = $1`,
      id,
    );
    expect(JSON.parse(end!.data)).toMatchObject({
      session_id: s.id,
      reason: 'client terminated',
      bytes_in: Number(s.bytes_in),
      bytes_out: Number(s.bytes_out),
      statements: statements.length,
    });

    const events = (await broker.broker.ctx.store.readSessionEvents(s.id)).map(
      ({ session_id: _, at: __, data: ___, ...e }) => e,
    );
    expect(
      await store('select count(*)::int as n from session_event_chunks where session_id = $1', s.id),
    ).toEqual([{ n: 1 }]);
    const expected = [
      { statement: tricky, command_tag: 'SELECT 1', rows: 1, error: null },
      { statement: statements[1], command_tag: 'CREATE TABLE', rows: null, error: null },
      { statement: statements[2], command_tag: 'INSERT 0 1234', rows: 1234, error: null },
      { statement: 'select 1/0', command_tag: null, rows: null, error: '22012: division by zero' },
      { statement: statements[4], command_tag: 'SELECT 1', rows: 1, error: null },
      { statement: statements[5], command_tag: 'SELECT 3', rows: 3, error: null },
    ];
    expect(
      events.map(({ duration_ms: _, ...e }) => ({ ...e, rows: e.rows === null ? null : Number(e.rows) })),
    ).toEqual(expected.map((e, i) => ({ seq: i + 1, kind: 'statement', param_count: 0, ...e })));
    for (const e of events) expect(e.duration_ms).toBeGreaterThanOrEqual(0);
  });

  it('ends a live session when its grant is revoked, and stores why (LISTEN/NOTIFY)', async () => {
    const id = 'pg-revoke@example.com';
    const child = spawnCli(['exec', 'db', '--', 'psql', '-XAtc', 'select pg_sleep(30)'], {
      env: { GATECTL_TOKEN: await broker.token({ id, groups: ['eng'] }), GATECTL_BROKER: broker.url },
    });
    const done = collect(child, undefined, 30_000);
    await eventually(async () => {
      const r = await pg.query(
        "select 1 from pg_stat_activity where query = 'select pg_sleep(30)' and state = 'active'",
      );
      return r.rowCount === 1;
    }, 15_000);
    const [grant] = await store<{ id: string }>('select id from grants where identity = $1', id);
    const t0 = Date.now();
    const revoke = await cli(id, ['revoke', grant!.id, '--reason', 'done for today']);
    expect(revoke.code).toBe(0);
    const r = await done;
    outputs.push(r.stdout, r.stderr);
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(r.stderr).toContain('access to db was revoked (done for today)');
    expect(r.code).not.toBe(0);

    const [s] = await eventually(async () => {
      const rows = await store<SessionRow>(
        'select * from sessions where identity = $1 and ended_at is not null',
        id,
      );
      return rows.length > 0 ? rows : null;
    });
    expect(s).toMatchObject({ target: 'db', grant_id: grant!.id, end_reason: 'grant_revoked' });
    const [g] = await store<{ state: string; revoked_by: string; end_reason: string }>(
      'select state, revoked_by, end_reason from grants where id = $1',
      grant!.id,
    );
    expect(g).toEqual({ state: 'revoked', revoked_by: id, end_reason: 'done for today' });
    const [t] = await store<{ closed_at: string | null }>(
      'select closed_at from tunnels where grant_id = $1',
      grant!.id,
    );
    expect(t!.closed_at).not.toBeNull();
  });

  it('leaves no open session, no child process, and never shows the upstream password', async () => {
    expect(await store('select id from sessions where ended_at is null')).toEqual([]);
    for (const out of outputs) expect(out).not.toContain(upstreamPassword);
    expect(await childrenOf(process.pid)).toEqual([]);
  });
});
