import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EngineHarness, startEngine } from './support/pg-engine.js';
import { startPostgres, type TestPostgres } from './support/postgres.js';
import { finishTool, runTool, spawnTool } from './support/run-tool.js';

const UPSTREAM_PASSWORD = 'Upstream-Pw-7f3a9c';

let server: TestPostgres;
let engine: EngineHarness;
const TARGET = () => ({
  address: `127.0.0.1:${server.port}`,
  database: 'appdb',
  credentials: { username: 'app' },
});

beforeAll(async () => {
  server = await startPostgres();
  await server.query(`create role app login password '${UPSTREAM_PASSWORD}'`);
  await server.query('create database appdb owner app');
  engine = await startEngine({
    target: { address: `127.0.0.1:${server.port}`, database: 'appdb', credentials: { username: 'app' } },
    upstreamPassword: UPSTREAM_PASSWORD,
  });
});

afterAll(async () => {
  await engine?.close();
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const dir = mkdtempSync(join(tmpdir(), 'gatectl-pg-engine-'));

function sha(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | null | false>,
  timeoutMs = 10_000,
) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The pg driver's protocol-level connection, for message sequences `query` does not send. */
interface PgConnection {
  query(text: string): void;
  parse(q: { text: string }): void;
  bind(b: object): void;
  execute(e: object): void;
  flush(): void;
  sync(): void;
  on(event: 'readyForQuery', listener: () => void): void;
  stream: { destroy(): void };
}

function client(extra: Partial<pg.ClientConfig> = {}): pg.Client {
  return new pg.Client({ connectionString: engine.url(), ...extra });
}

function psql(args: string[], input?: string) {
  return runTool('psql', ['-X', '-v', 'ON_ERROR_STOP=1', ...args], { env: engine.env(), input });
}

describe('PostgreSQL engine with psql', () => {
  it('runs queries as the broker-held user on the target database', async () => {
    const r = await psql(['-At', '-c', 'select current_user, current_database()']);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('app|appdb');
  });

  it('copies in and out with \\copy', async () => {
    await psql(['-c', 'create table items (id int primary key, name text)']);
    const lines = Array.from({ length: 50_000 }, (_, i) =>
      `${i + 1},name ${i + 1} "quoted"`.replace(/"/g, ''),
    );
    const input = join(dir, 'in.csv');
    const output = join(dir, 'out.csv');
    writeFileSync(input, `${lines.join('\n')}\n`);
    const load = await psql(['-c', `\\copy items from '${input}' csv`]);
    expect(load.stderr).toBe('');
    expect(load.stdout.trim()).toBe('COPY 50000');
    const dump = await psql(['-c', `\\copy (select * from items order by id) to '${output}' csv`]);
    expect(dump.stdout.trim()).toBe('COPY 50000');
    expect(readFileSync(output, 'utf8')).toBe(readFileSync(input, 'utf8'));
    // Through stdin/stdout too.
    const viaStdin = await psql(['-c', '\\copy items from stdin csv'], '50001,last\n');
    expect(viaStdin.stdout.trim()).toBe('COPY 1');
  });

  it('imports a large object (fast-path function calls) and keeps the statement record in step', async () => {
    const before = engine.sessions.length;
    const file = join(dir, 'blob.bin');
    writeFileSync(file, Buffer.alloc(300_000, 7));
    const r = await psql(['-At', '-c', `\\lo_import '${file}'`, '-c', 'select 42']);
    expect(r.stderr).toBe('');
    const oid = /^lo_import (\d+)$/m.exec(r.stdout)?.[1];
    expect(oid).toBeDefined();
    expect(r.stdout).toMatch(/^42$/m);
    const size = await server.query(`select length(lo_get(${oid})) as n`, 'appdb');
    expect(Number(size.rows[0].n)).toBe(300_000);
    await engine.waitForEnded(before + 1);
    // The function calls between BEGIN and COMMIT are answered with ReadyForQuery too: each must
    // be matched to its own, not to a statement's.
    const recorded = engine.sessions[before]!.statements.map((e) => [e.statement, e.commandTag]);
    expect(recorded.slice(-2)).toEqual([
      ['COMMIT', 'COMMIT'],
      ['select 42', 'SELECT 1'],
    ]);
  });

  it('relays a big COPY out byte for byte', async () => {
    const sql =
      "copy (select g, md5(g::text), repeat('x', g % 50) from generate_series(1, 300000) g) to stdout";
    const through = await psql(['-c', sql]);
    const direct = await runTool('psql', ['-X', server.url('appdb'), '-c', sql], { env: process.env });
    expect(through.stdout.length).toBeGreaterThan(10_000_000);
    expect(sha(through.stdout)).toBe(sha(direct.stdout));
  });

  it("cancels a running query on psql's Ctrl-C", async () => {
    const child = spawnTool('psql', ['-X', '-c', 'select pg_sleep(30)'], {
      ...engine.env(),
      PGAPPNAME: 'to-cancel',
    });
    const done = finishTool(child);
    await waitFor('the query to run', async () => {
      const r = await server.query(
        "select 1 from pg_stat_activity where application_name = 'to-cancel' and query like 'select pg_sleep%' and state = 'active'",
      );
      return r.rowCount === 1;
    });
    const sent = Date.now();
    child.kill('SIGINT');
    const r = await done;
    expect(Date.now() - sent).toBeLessThan(5000);
    expect(r.stderr).toContain('canceling statement due to user request');
    expect(r.code).toBe(1);
  });

  it('refuses a wrong tunnel secret with 28P01', async () => {
    const r = await runTool('psql', ['-X', '-c', 'select 1'], {
      env: { ...engine.env(), PGPASSWORD: 'not-the-secret', PG_COLOR: 'never', PGOPTIONS: '' },
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('password authentication failed for user "someone"');
  });
});

describe('PostgreSQL engine session records', () => {
  it('reports the session start, statements and end through the hooks', async () => {
    const before = engine.sessions.length;
    const r = await psql(['-c', 'select 1 as a', '-c', 'select nope', '-At'], undefined);
    expect(r.code).toBe(1);
    await engine.waitForEnded(before + 1);
    const s = engine.sessions[before]!;
    expect(s.start).toEqual({ user: 'someone', database: 'anything', applicationName: 'psql' });
    expect(
      s.statements.map((e) => [e.statement, e.commandTag, e.rows, e.error?.slice(0, 6) ?? null]),
    ).toEqual([
      ['select 1 as a', 'SELECT 1', 1, null],
      ['select nope', null, null, '42703:'],
    ]);
    expect(s.end?.reason).toBe('client terminated');
    expect(s.end?.bytesIn).toBeGreaterThan(50);
    expect(s.end?.bytesOut).toBeGreaterThan(50);
  });
  it('records pipelined statements in order, each with its own answer', async () => {
    const before = engine.sessions.length;
    const c = client({ application_name: 'pipeline' });
    await c.connect();
    c.on('error', () => {}); // the driver reports answers to requests it did not send itself
    const conn = (c as unknown as { connection: PgConnection }).connection;
    let ready = 0;
    const answered = new Promise<void>((resolve) =>
      conn.on('readyForQuery', () => {
        if (++ready === 4) resolve();
      }),
    );
    // Everything is sent before the first answer comes back.
    conn.query('select 1');
    conn.query('select nope');
    for (const text of ['select 1/0', 'select 2']) {
      conn.parse({ text });
      conn.bind({});
      conn.execute({});
    }
    conn.sync();
    conn.parse({ text: 'select 3' });
    conn.bind({});
    conn.execute({});
    conn.sync();
    await answered;
    conn.stream.destroy();
    await engine.waitForEnded(before + 1);
    expect(
      engine.sessions[before]!.statements.map((e) => [
        e.statement,
        e.commandTag,
        e.error?.slice(0, 6) ?? null,
      ]),
    ).toEqual([
      ['select 1', 'SELECT 1', null],
      ['select nope', null, '42703:'],
      ['select 1/0', null, '22012:'],
      // 'select 2' was skipped by the server: it followed an error before the Sync.
      ['select 3', 'SELECT 1', null],
    ]);
  });
});

describe('PostgreSQL engine with pgbench', () => {
  it('initialises and runs in simple, extended and prepared mode', async () => {
    const init = await runTool('pgbench', ['-i', '-s', '1', '-q'], { env: engine.env(), timeoutMs: 120_000 });
    expect(init.code, init.stderr).toBe(0);
    for (const mode of ['simple', 'extended', 'prepared']) {
      const r = await runTool('pgbench', ['-M', mode, '-c', '2', '-t', '200', '-n'], { env: engine.env() });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain(`query mode: ${mode}`);
      expect(r.stdout).toContain('number of transactions actually processed: 400/400');
      expect(r.stdout).toMatch(/number of failed transactions: 0/);
    }
  });

  it('records each pgbench statement with its parameter count', async () => {
    const before = engine.sessions.length;
    const r = await runTool('pgbench', ['-M', 'prepared', '-S', '-c', '1', '-t', '5', '-n'], {
      env: engine.env(),
    });
    expect(r.code, r.stderr).toBe(0);
    await engine.waitForEnded(engine.sessions.length);
    const selects = engine.sessions
      .slice(before)
      .flatMap((s) => s.statements)
      .filter((e) => e.statement.startsWith('SELECT abalance'));
    expect(selects).toHaveLength(5);
    expect(selects[0]).toMatchObject({ paramCount: 1, commandTag: 'SELECT 1', rows: 1, error: null });
  });
});

describe('PostgreSQL engine with the pg driver', () => {
  it('runs named prepared statements', async () => {
    const c = client();
    await c.connect();
    try {
      for (let i = 0; i < 3; i++) {
        const r = await c.query({ name: 'add', text: 'select $1::int + $2::int as sum', values: [i, 10] });
        expect(r.rows[0].sum).toBe(i + 10);
      }
      await expect(c.query({ name: 'bad', text: 'select $1::int / 0', values: [1] })).rejects.toMatchObject({
        code: '22012',
      });
      // The session is still usable after an extended-protocol error.
      const r = await c.query({ name: 'add', text: 'select $1::int + $2::int as sum', values: [1, 1] });
      expect(r.rows[0].sum).toBe(2);
    } finally {
      await c.end();
    }
  });

  it('delivers LISTEN/NOTIFY', async () => {
    const listener = client();
    const notifier = client();
    await listener.connect();
    await notifier.connect();
    try {
      await listener.query('listen jobs');
      const got = new Promise<pg.Notification>((resolve) => listener.once('notification', resolve));
      await notifier.query("select pg_notify('jobs', 'hello')");
      const n = await got;
      expect(n).toMatchObject({ channel: 'jobs', payload: 'hello' });
    } finally {
      await listener.end();
      await notifier.end();
    }
  });

  it('relays a large result (200k rows)', async () => {
    const c = client();
    await c.connect();
    try {
      const r = await c.query('select g, md5(g::text) as h from generate_series(1, 200000) g');
      expect(r.rowCount).toBe(200_000);
      expect(r.rows.reduce((a: number, row: { g: number }) => a + row.g, 0)).toBe((200_000 * 200_001) / 2);
      expect(r.rows[199_999].h).toBe(createHash('md5').update('200000').digest('hex'));
    } finally {
      await c.end();
    }
  });
});

describe('PostgreSQL engine endings', () => {
  it('closes the upstream when the client is killed mid-result', async () => {
    const child = spawnTool(
      'psql',
      ['-X', '-c', "select g, repeat('x', 500) from generate_series(1, 50000000) g"],
      { ...engine.env(), PGAPPNAME: 'killed-client' },
    );
    const done = finishTool(child).catch(() => null);
    const active = "select pid from pg_stat_activity where application_name = 'killed-client'";
    await waitFor(
      'the backend to stream',
      async () => (await server.query(`${active} and state = 'active'`)).rowCount === 1,
    );
    await new Promise((r) => setTimeout(r, 300));
    child.kill('SIGKILL');
    await done;
    await waitFor('the backend to go away', async () => (await server.query(active)).rowCount === 0, 5000);
  });

  // A backend asleep in pg_sleep does not notice its closed socket until the sleep ends: the
  // relay must know the query is in flight (a Sync, or an Execute after a Flush, still open).
  it.each([
    ['a Sync', 'ext-sync'],
    ['a Flush and no Sync', 'ext-flush'],
  ])('cancels an extended-protocol query sent with %s when its client goes away', async (_, app) => {
    const c = client({ application_name: app });
    await c.connect();
    c.on('error', () => {});
    const conn = (c as unknown as { connection: PgConnection }).connection;
    const running =
      app === 'ext-sync'
        ? c.query({ text: 'select pg_sleep($1)', values: [30] }).catch(() => null)
        : (() => {
            conn.parse({ text: 'select pg_sleep(30)' });
            conn.bind({});
            conn.execute({});
            conn.flush();
          })();
    const active = `select pid from pg_stat_activity where application_name = '${app}'`;
    await waitFor(
      'the query to run',
      async () => (await server.query(`${active} and state = 'active'`)).rowCount === 1,
    );
    conn.stream.destroy();
    await running;
    await waitFor('the backend to go away', async () => (await server.query(active)).rowCount === 0, 5000);
  });

  it('gives the client the FATAL of a terminated backend', async () => {
    const c = client({ application_name: 'victim' });
    await c.connect();
    c.on('error', () => {});
    const error = new Promise<Error & { code?: string }>((resolve) => c.once('error', resolve));
    await server.query(
      "select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'victim'",
    );
    const err = await error;
    expect(err.code).toBe('57P01');
    await c.end().catch(() => {});
  });

  it('ends the session with a FATAL that says why when the grant ends', async () => {
    const before = engine.sessions.length;
    const child = spawnTool('psql', ['-X', '-c', 'select pg_sleep(30)'], {
      ...engine.env(),
      PGAPPNAME: 'revoked',
    });
    const done = finishTool(child);
    await waitFor('the query to run', async () => {
      const r = await server.query(
        "select 1 from pg_stat_activity where application_name = 'revoked' and state = 'active'",
      );
      return r.rowCount === 1;
    });
    const reason = 'gatectl: grant gr_x was revoked by bob: incident over';
    const t0 = Date.now();
    engine.sessions[before]!.abort(reason);
    const r = await done;
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(r.stderr).toContain(reason);
    await engine.waitForEnded(before + 1);
    expect(engine.sessions[before]!.end?.reason).toBe(`grant ended: ${reason}`);
    await waitFor(
      'the backend to go away',
      async () =>
        (await server.query("select 1 from pg_stat_activity where application_name = 'revoked'")).rowCount ===
        0,
    );
  });

  it('ends an idle session when the grant expires', async () => {
    await using expiring = await startEngine({
      target: TARGET(),
      upstreamPassword: UPSTREAM_PASSWORD,
      abortAfterMs: 300,
    });
    const c = new pg.Client({ connectionString: expiring.url() });
    await c.connect();
    const err = await new Promise<Error & { code?: string }>((resolve) => c.once('error', resolve));
    c.on('error', () => {});
    expect(err).toMatchObject({ code: '57P01', message: 'gatectl: grant gr_test expired' });
    await expiring.waitForEnded(1);
    expect(expiring.sessions[0]!.end?.reason).toBe('grant ended: gatectl: grant gr_test expired');
  });

  it('puts the FATAL on a message boundary when the grant ends mid-result', async () => {
    const before = engine.sessions.length;
    const c = client();
    await c.connect();
    c.on('error', () => {});
    const session = engine.sessions[before]!;
    const reason = 'gatectl: grant gr_y was revoked by carol: mid-result';
    // Abort as soon as the first result bytes have left the engine, while most rows are in flight.
    const started = Date.now();
    const poll = setInterval(() => {
      if (session.sentToClient().length > 100_000) {
        clearInterval(poll);
        session.abort(reason);
      }
    }, 1);
    const err = await c.query("select g, repeat('y', 200) from generate_series(1, 2000000) g").then(
      () => null,
      (e: Error & { code?: string }) => e,
    );
    clearInterval(poll);
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(err).toMatchObject({ code: '57P01', message: reason });
    await engine.waitForEnded(before + 1);
    expect(session.end?.reason).toBe(`grant ended: ${reason}`);
  });

  it('answers an oversized message with 54000 and closes', async () => {
    const small = await startEngine({
      target: { ...TARGET(), max_message_size: 64 * 1024 },
      upstreamPassword: UPSTREAM_PASSWORD,
    });
    try {
      const c = new pg.Client({ connectionString: small.url() });
      await c.connect();
      const closed = new Promise<void>((resolve) => c.once('end', resolve));
      c.on('error', () => {});
      await expect(c.query(`select '${'x'.repeat(100 * 1024)}'`)).rejects.toMatchObject({ code: '54000' });
      await closed;
      await small.waitForEnded(1);
      expect(small.sessions[0]!.end?.reason).toBe('message too large');
    } finally {
      await small.close();
    }
  });

  it('never sends the upstream password or the target address to a client', async () => {
    await engine.waitForEnded(engine.sessions.length, 15_000);
    expect(engine.sessions.length).toBeGreaterThan(10);
    for (const s of engine.sessions) {
      const bytes = s.sentToClient();
      expect(bytes.includes(UPSTREAM_PASSWORD)).toBe(false);
      expect(bytes.includes(`:${server.port}`)).toBe(false);
    }
    expect(engine.logs()).not.toContain(UPSTREAM_PASSWORD);
    expect(engine.logs()).not.toContain(engine.secret);
  });
});
