import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect, spawnCli } from './support/cli.js';
import {
  childrenOf,
  eventually,
  openSessions,
  startTunnelWorld,
  TARGET,
  type TunnelWorld,
} from './tunnel-fixtures.js';

let w: TunnelWorld;
let dir: string;
beforeAll(async () => {
  w = await startTunnelWorld();
  dir = mkdtempSync(join(tmpdir(), 'gatectl-exec-'));
});
afterAll(async () => {
  await w?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const store = () => w.broker.broker.ctx.store;
const db = () => store().db;

describe('gatectl exec', () => {
  it('runs psql through the tunnel, passes its exit code through and records the session', async () => {
    const ok = await w.cli('exec-ok@example.com', [
      'exec',
      TARGET,
      '--',
      'psql',
      '-XAtc',
      'select current_user, 40 + 2',
    ]);
    expect(ok.stderr).toBe('');
    expect(ok.stdout.trim()).toBe('app|42');
    expect(ok.code).toBe(0);

    const failing = await w.cli('exec-ok@example.com', ['exec', TARGET, '--', 'psql', '-XAtc', 'select 1/0']);
    expect(failing.stderr).toContain('division by zero');
    expect(failing.code).toBe(1);

    const sessions = await db()
      .selectFrom('sessions')
      .selectAll()
      .where('identity', '=', 'exec-ok@example.com')
      .orderBy('started_at')
      .execute();
    expect(sessions).toHaveLength(2);
    for (const s of sessions) {
      expect(s).toMatchObject({ target: TARGET, protocol: 'postgres', client_tool: 'psql' });
      expect(s.ended_at).not.toBeNull();
      expect(s.end_reason).toBeTruthy();
      expect(Number(s.bytes_in)).toBeGreaterThan(0);
      expect(Number(s.bytes_out)).toBeGreaterThan(0);
      expect(s.grant_id).toMatch(/^gr_/);
      expect(s.tunnel_id).toMatch(/^tn_/);
    }
    const events = (await Promise.all(sessions.map((s) => store().readSessionEvents(s.id)))).flat();
    const first = events.find((e) => e.session_id === sessions[0]!.id && e.statement?.includes('40 + 2'));
    expect(first).toMatchObject({ kind: 'statement', command_tag: 'SELECT 1', error: null, param_count: 0 });
    expect(Number(first!.rows)).toBe(1);
    const failed = events.find((e) => e.session_id === sessions[1]!.id && e.statement === 'select 1/0');
    expect(failed?.error).toMatch(/^22012/);

    const audit = await db()
      .selectFrom('audit_events')
      .select(['type', 'data'])
      .where('actor', '=', 'exec-ok@example.com')
      .orderBy('seq')
      .execute();
    const types = audit.map((a) => a.type);
    expect(types.filter((t) => t === 'session.start')).toHaveLength(2);
    expect(types.filter((t) => t === 'session.end')).toHaveLength(2);
    // Tunnels are torn down when the child exits.
    const tunnels = await db()
      .selectFrom('tunnels')
      .selectAll()
      .where('identity', '=', 'exec-ok@example.com')
      .execute();
    expect(tunnels).toHaveLength(2);
    expect(tunnels.every((t) => t.closed_at !== null)).toBe(true);
  });

  it('gives the child the connection in its environment, never on its command line', async () => {
    const script = join(dir, 'show.mjs');
    writeFileSync(
      script,
      `const e = process.env;
console.log(JSON.stringify({ argv: process.argv.slice(2), env: { PGHOST: e.PGHOST, PGPORT: e.PGPORT, PGUSER: e.PGUSER,
  PGDATABASE: e.PGDATABASE, PGPASSWORD: e.PGPASSWORD, PGSSLMODE: e.PGSSLMODE, DATABASE_URL: e.DATABASE_URL, PGSERVICE: e.PGSERVICE } }));`,
    );
    const r = await w.cli(
      'exec-env@example.com',
      [
        'exec',
        TARGET,
        '--',
        process.execPath,
        script,
        '--host={host}',
        '-p',
        '{port}',
        '{database}',
        'u={user}',
      ],
      { env: { PGSERVICE: 'elsewhere' } },
    );
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { argv: string[]; env: Record<string, string | undefined> };
    const { env } = out;
    expect(env).toMatchObject({
      PGHOST: '127.0.0.1',
      PGUSER: 'gatectl',
      PGDATABASE: 'app',
      PGSSLMODE: 'disable',
    });
    expect(env.PGSERVICE).toBeUndefined();
    expect(Number(env.PGPORT)).toBeGreaterThan(0);
    expect(env.PGPASSWORD!.length).toBeGreaterThanOrEqual(40);
    expect(env.DATABASE_URL).toBe(
      `postgresql://gatectl:${env.PGPASSWORD}@127.0.0.1:${env.PGPORT}/app?sslmode=disable`,
    );
    expect(out.argv).toEqual(['--host=127.0.0.1', '-p', env.PGPORT, 'app', 'u=gatectl']);
    expect(out.argv.join(' ')).not.toContain(env.PGPASSWORD);

    const refused = await w.cli('exec-env@example.com', ['exec', TARGET, '--', 'echo', '{password}']);
    expect(refused.code).toBe(2);
    expect(refused.stdout).toBe('');
  });

  it('returns the exit code of the child, 128+n for a signal, 127 for a missing command', async () => {
    expect((await w.cli('exec-code@example.com', ['exec', TARGET, '--', 'sh', '-c', 'exit 7'])).code).toBe(7);
    expect(
      (await w.cli('exec-code@example.com', ['exec', TARGET, '--', 'sh', '-c', 'kill -TERM $$'])).code,
    ).toBe(143);
    const missing = await w.cli('exec-code@example.com', ['exec', TARGET, '--', 'no-such-command-gatectl']);
    expect(missing.code).toBe(127);
    expect(missing.stderr).toContain('command not found: no-such-command-gatectl');
    // A target that does not exist: the broker's answer, and where to look, without running anything.
    const runsNothing = ['--', 'sh', '-c', 'exit 9'];
    const unknown = await w.cli('exec-code@example.com', ['exec', 'no-such-target', ...runsNothing]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('no target named "no-such-target"');
    expect(unknown.stderr).toContain('Run `gatectl targets` to see the targets you can use.');
  });

  it('says when the grant ends sooner than the --duration asked for', async () => {
    const note = /The grant to db ends at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ, sooner than --duration (\S+) /;
    // A new grant for exactly what was asked: nothing to say.
    const first = await w.cli('exec-duration@example.com', ['exec', TARGET, '-d', '2h', '--', 'true']);
    expect(first.code).toBe(0);
    expect(first.stderr).not.toMatch(note);
    // The active 2 h grant is reused for a job that wants 3 h.
    const longer = await w.cli('exec-duration@example.com', ['exec', TARGET, '-d', '3h', '--', 'true']);
    expect(longer.code).toBe(0);
    expect(longer.stderr).toMatch(note);
    expect(note.exec(longer.stderr)?.[1]).toBe('3h');
    // A new grant capped by the target's max_duration (4 h by default).
    const capped = await w.cli('exec-capped@example.com', ['exec', TARGET, '--duration=10h', '--', 'true']);
    expect(capped.code).toBe(0);
    expect(note.exec(capped.stderr)?.[1]).toBe('10h');
  });

  it('forwards SIGTERM to the child and tears the tunnel down when it exits', async () => {
    const id = 'exec-term@example.com';
    const child = spawnCli(['exec', TARGET, '--', 'sleep', '30'], { env: await w.cliEnv(id) });
    const done = collect(child, undefined, 20_000);
    await eventually(() =>
      db().selectFrom('tunnels').selectAll().where('identity', '=', id).executeTakeFirst(),
    );
    await new Promise((r) => setTimeout(r, 200));
    const t0 = Date.now();
    child.kill('SIGTERM');
    const r = await done;
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(r.code).toBe(143);
    const t = await db()
      .selectFrom('tunnels')
      .selectAll()
      .where('identity', '=', id)
      .executeTakeFirstOrThrow();
    expect(t.closed_at).not.toBeNull();
  });

  it('copies in and out with psql \\copy', async () => {
    const rows = Array.from({ length: 5000 }, (_, i) => `${i},"name ${i}, with comma"`).join('\n');
    writeFileSync(join(dir, 'in.csv'), `${rows}\n`);
    const id = 'exec-copy@example.com';
    const setup = await w.cli(id, [
      'exec',
      TARGET,
      '--',
      'psql',
      '-X',
      '-v',
      'ON_ERROR_STOP=1',
      '-c',
      'create table items (id int primary key, name text)',
    ]);
    expect(setup.code).toBe(0);
    const copyIn = await w.cli(id, [
      'exec',
      TARGET,
      '--',
      'psql',
      '-X',
      '-v',
      'ON_ERROR_STOP=1',
      '-c',
      `\\copy items from '${join(dir, 'in.csv')}' csv`,
    ]);
    expect(copyIn.stderr).toBe('');
    expect(copyIn.stdout.trim()).toBe('COPY 5000');
    const copyOut = await w.cli(id, [
      'exec',
      TARGET,
      '--',
      'psql',
      '-X',
      '-v',
      'ON_ERROR_STOP=1',
      '-c',
      `\\copy (select * from items order by id) to '${join(dir, 'out.csv')}' csv`,
    ]);
    expect(copyOut.code).toBe(0);
    expect(readFileSync(join(dir, 'out.csv'), 'utf8')).toBe(`${rows}\n`);
    const direct = await w.pg.query('select count(*)::int as n from items', 'app');
    expect(direct.rows[0].n).toBe(5000);
  });

  it('cancels a running query when psql is interrupted (CancelRequest through the tunnel)', async () => {
    const child = spawnCli(['exec', TARGET, '--', 'psql', '-XAtc', 'select pg_sleep(30)'], {
      env: await w.cliEnv('exec-cancel@example.com'),
    });
    const done = collect(child, undefined, 40_000);
    await eventually(async () => {
      const r = await w.pg.query(
        "select 1 from pg_stat_activity where query = 'select pg_sleep(30)' and state = 'active'",
      );
      return r.rowCount === 1;
    }, 15_000);
    const t0 = Date.now();
    child.kill('SIGINT');
    const r = await done;
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(r.stderr).toContain('canceling statement due to user request');
    expect(r.code).toBe(1);
    const ev = await eventually(async () => {
      const sessions = await db()
        .selectFrom('sessions')
        .select('id')
        .where('identity', '=', 'exec-cancel@example.com')
        .execute();
      const events = (await Promise.all(sessions.map((s) => store().readSessionEvents(s.id)))).flat();
      return events.find((e) => e.statement === 'select pg_sleep(30)');
    });
    expect(ev.error).toMatch(/^57014/);
  });

  it('runs pgbench -i and pgbench in simple, extended and prepared mode', async () => {
    const id = 'exec-bench@example.com';
    const init = await w.cli(id, ['exec', TARGET, '--', 'pgbench', '-i', '-s', '1', '-q'], {
      timeoutMs: 120_000,
    });
    expect(init.code).toBe(0);
    for (const mode of ['simple', 'extended', 'prepared']) {
      const r = await w.cli(id, ['exec', TARGET, '--', 'pgbench', '-M', mode, '-c', '2', '-t', '50', '-n'], {
        timeoutMs: 120_000,
      });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain(`query mode: ${mode}`);
      expect(r.stdout).toContain('number of transactions actually processed: 100/100');
      expect(r.stdout).toContain('number of failed transactions: 0');
    }
  });

  it('serves the pg driver with prepared statements from DATABASE_URL', async () => {
    const script = join(dir, 'driver.mjs');
    const pgEntry = resolve(import.meta.dirname, '../node_modules/pg/lib/index.js');
    writeFileSync(
      script,
      `import pg from ${JSON.stringify(pgEntry)};
const client = new pg.Client({ connectionString: process.env.DATABASE_URL, application_name: 'driver-test' });
await client.connect();
const out = [];
for (const [a, b] of [[1, 2], [20, 22]]) {
  const r = await client.query({ name: 'add', text: 'select $1::int + $2::int as sum, $3::text as t', values: [a, b, 'x'] });
  out.push(r.rows[0]);
}
const big = await client.query({ name: 'series', text: 'select g, repeat($1, 100) as pad from generate_series(1, $2::int) g', values: ['y', 20000] });
out.push(big.rowCount);
await client.end();
console.log(JSON.stringify(out));`,
    );
    const r = await w.cli('exec-driver@example.com', ['exec', TARGET, '--', process.execPath, script]);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual([{ sum: 3, t: 'x' }, { sum: 42, t: 'x' }, 20000]);
    const s = await db()
      .selectFrom('sessions')
      .selectAll()
      .where('identity', '=', 'exec-driver@example.com')
      .executeTakeFirstOrThrow();
    expect(s.client_tool).toBe('driver-test');
    const events = await eventually(async () => {
      const e = await store().readSessionEvents(s.id);
      return e.length >= 3 ? e : null;
    });
    expect(events.filter((e) => e.statement?.startsWith('select $1::int'))).toHaveLength(2);
    expect(events.find((e) => e.statement?.startsWith('select $1::int'))?.param_count).toBe(3);
    expect(Number(events.find((e) => e.statement?.includes('generate_series'))?.rows)).toBe(20000);
  });

  it('never lets the upstream password reach the CLI, and leaves no open session', async () => {
    const secret = Buffer.from(w.upstreamPassword);
    const received = w.received();
    // The capture saw real tunnel traffic (e.g. the copied rows), so its absence means something.
    expect(received.includes(Buffer.from('name 4999, with comma'))).toBe(true);
    expect(received.includes(secret)).toBe(false);
    for (const out of w.cliOutput) expect(out).not.toContain(w.upstreamPassword);
    expect(await openSessions(w)).toBe(0);
    // No psql or pgbench left behind by any test.
    expect(await childrenOf(process.pid)).toEqual([]);
  });
});
