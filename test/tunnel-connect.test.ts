import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { collect, spawnCli, waitForStderr } from './support/cli.js';
import {
  childrenOf,
  eventually,
  openSessions,
  startConnect as startConnectIn,
  startTunnelWorld,
  TARGET,
  type TunnelWorld,
} from './tunnel-fixtures.js';

const run = promisify(execFile);

let w: TunnelWorld;
let dir: string;
beforeAll(async () => {
  w = await startTunnelWorld({
    targets: (address) => [
      {
        name: 'db-approval',
        kind: 'postgres',
        address,
        database: 'app',
        credentials: { username: 'app', password: { env: 'APP_DB_PASSWORD' } },
        access: { groups: ['eng'], approval: { approvers: ['dba'] } },
      },
    ],
  });
  dir = mkdtempSync(join(tmpdir(), 'gatectl-connect-'));
});
afterAll(async () => {
  await w?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const db = () => w.broker.broker.ctx.store.db;

const startConnect = (identity: string, args: string[] = [], env: NodeJS.ProcessEnv = {}) =>
  startConnectIn(w, identity, args, env);

async function psql(uri: string, sql: string) {
  const { stdout } = await run('psql', ['-XAt', uri, '-c', sql]);
  return stdout.trim();
}

describe('gatectl connect', () => {
  it('refuses a tunnel without an active grant (403 no_active_grant)', async () => {
    const token = await w.token('nogrant@example.com');
    const res = await fetch(`${w.broker.url}/v1/tunnels`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ target: TARGET }),
    });
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('no_active_grant');
  });

  it('serves two tunnels at once, each with its own URI, and closes them on Ctrl-C', async () => {
    const a = await startConnect('two@example.com', ['--json']);
    const b = await startConnect('two@example.com');
    const ja = JSON.parse(a.line) as Record<string, string | number>;
    expect(ja).toMatchObject({ target: TARGET, host: '127.0.0.1', database: 'app', user: 'gatectl' });
    expect(String(ja.tunnel_id)).toMatch(/^tn_/);
    const uriB = b.line;
    expect(uriB).toMatch(/^postgresql:\/\/gatectl:[A-Za-z0-9_-]{43}@127\.0\.0\.1:\d+\/app\?sslmode=disable$/);
    expect(ja.uri).not.toBe(uriB);
    expect(await psql(String(ja.uri), 'select 1')).toBe('1');
    expect(await psql(uriB, 'select 2')).toBe('2');
    // Several connections through one tunnel at once.
    const results = await Promise.all(
      Array.from({ length: 5 }, (_, i) => psql(String(ja.uri), `select ${i} from pg_sleep(0.2)`)),
    );
    expect(results).toEqual(['0', '1', '2', '3', '4']);
    expect(a.stderr()).toMatch(
      new RegExp(
        `Tunnel to ${TARGET} on 127\\.0\\.0\\.1:${ja.port} until \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ\\. `,
      ),
    );
    expect(a.stderr()).toMatch(/connection \d+ opened from 127\.0\.0\.1:\d+/);

    const ra = await a.stop();
    const rb = await b.stop();
    expect(ra.code).toBe(0);
    expect(rb.code).toBe(0);
    // Ctrl-C says what each tunnel carried.
    expect(ra.stderr).toMatch(
      /Closed the tunnel to db \(6 connections, ↑ \d+(\.\d)? (B|KiB) ↓ \d+(\.\d)? (B|KiB)\)\.\n$/,
    );
    expect(rb.stderr).toMatch(/Closed the tunnel to db \(1 connection, ↑ \d+ B ↓ \d+ B\)\.\n$/);
    const tunnels = await db()
      .selectFrom('tunnels')
      .selectAll()
      .where('identity', '=', 'two@example.com')
      .execute();
    expect(tunnels).toHaveLength(2);
    expect(tunnels.every((t) => t.closed_at !== null)).toBe(true);
    const port = Number(ja.port);
    await expect(
      run('psql', ['-XAt', `postgresql://gatectl:x@127.0.0.1:${port}/app`, '-c', 'select 1']),
    ).rejects.toThrow();
  });

  it('answers a wrong local secret with SQLSTATE 28P01 and records the attempt', async () => {
    const c = await startConnect('wrong@example.com');
    const uri = new URL(c.line);
    uri.password = 'not-the-secret';
    const client = new pg.Client({ connectionString: uri.toString() });
    const err = (await client.connect().then(
      () => null,
      (e: unknown) => e,
    )) as { code?: string } | null;
    expect(err?.code).toBe('28P01');
    await client.end().catch(() => {});
    // The right secret still works afterwards.
    expect(await psql(c.line, 'select 3')).toBe('3');
    await c.stop();
    const failures = await eventually(async () => {
      const rows = await db()
        .selectFrom('audit_events')
        .selectAll()
        .where('type', '=', 'auth.failure')
        .where('actor', '=', 'wrong@example.com')
        .execute();
      return rows.length > 0 ? rows : null;
    });
    expect(JSON.parse(failures[0]!.data)).toMatchObject({ reason: 'wrong_tunnel_secret' });
    const sessions = await db()
      .selectFrom('sessions')
      .selectAll()
      .where('identity', '=', 'wrong@example.com')
      .execute();
    expect(sessions).toHaveLength(1);
  });

  it('writes a pg_service.conf entry with --pg-service and removes it on exit', async () => {
    const file = join(dir, 'pg_service.conf');
    writeFileSync(file, '[other]\nhost=example.org\n');
    const c = await startConnect('svc@example.com', ['--pg-service', 'gatectl-db'], { PGSERVICEFILE: file });
    expect(c.line).toBe('psql service=gatectl-db');
    const text = readFileSync(file, 'utf8');
    expect(text).toContain('[other]\nhost=example.org');
    expect(text).toMatch(
      /\[gatectl-db\]\nhost=127\.0\.0\.1\nport=\d+\ndbname=app\nuser=gatectl\npassword=\S+\nsslmode=disable/,
    );
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const { stdout } = await run('psql', ['-XAt', 'service=gatectl-db', '-c', 'select current_database()'], {
      env: { ...process.env, PGSERVICEFILE: file },
    });
    expect(stdout.trim()).toBe('app');
    await c.stop();
    expect(readFileSync(file, 'utf8')).toBe('[other]\nhost=example.org\n');
  });

  it('refuses the tunnel to anyone but its owner, and caps WebSocket messages', async () => {
    const c = await startConnect('owner@example.com', ['--json']);
    const { tunnel_id } = JSON.parse(c.line) as { tunnel_id: string };
    const other = await w.token('intruder@example.com');
    const owner = await w.token('owner@example.com');
    const status = await new Promise<number>((resolve, reject) => {
      const ws = new WebSocket(`${w.broker.url.replace('http', 'ws')}/v1/tunnels/${tunnel_id}/connect`, {
        headers: { authorization: `Bearer ${other}` },
      });
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => reject(new Error('a stranger opened the tunnel')));
      ws.on('error', () => {});
    });
    expect(status).toBe(404);
    const anonymous = await new Promise<number>((resolve) => {
      const ws = new WebSocket(`${w.broker.url.replace('http', 'ws')}/v1/tunnels/${tunnel_id}/connect`);
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('error', () => {});
    });
    expect(anonymous).toBe(401);
    // An upgrade that is not RFC 6455 version 13 is refused before anything else, with the
    // header that tells the client which version to speak.
    const oldVersion = await new Promise<{ status: number; version: string | undefined; body: string }>(
      (resolve, reject) => {
        const req = httpRequest(`${w.broker.url}/v1/tunnels/${tunnel_id}/connect`, {
          headers: {
            connection: 'Upgrade',
            upgrade: 'websocket',
            'sec-websocket-version': '8',
            'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
            authorization: `Bearer ${owner}`,
          },
        });
        req.on('response', (res) => {
          let body = '';
          res.setEncoding('utf8').on('data', (d: string) => {
            body += d;
          });
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              version: res.headers['sec-websocket-version'] as string,
              body,
            }),
          );
        });
        req.on('upgrade', () => reject(new Error('upgraded with version 8')));
        req.on('error', reject);
        req.end();
      },
    );
    expect(oldVersion.status).toBe(426);
    expect(oldVersion.version).toBe('13');
    expect(JSON.parse(oldVersion.body)).toEqual({
      error: { code: 'bad_upgrade', message: 'WebSocket version 13 is required' },
    });
    // The owner sending one WebSocket message above the broker's limit is cut off (1009).
    const closeCode = await new Promise<number>((resolve) => {
      const ws = new WebSocket(`${w.broker.url.replace('http', 'ws')}/v1/tunnels/${tunnel_id}/connect`, {
        headers: { authorization: `Bearer ${owner}` },
      });
      ws.on('open', () => ws.send(Buffer.alloc(2 * 1024 * 1024)));
      ws.on('close', (code) => resolve(code));
      ws.on('error', () => {});
    });
    expect(closeCode).toBe(1009);
    await c.stop();
  });

  it('requests a grant and waits for its approval, so one command goes from nothing to connected', async () => {
    const id = 'needs-approval@example.com';
    const child = spawnCli(
      ['exec', 'db-approval', '--reason', 'incident 7', '--', 'psql', '-XAtc', 'select 5'],
      {
        env: await w.cliEnv(id),
      },
    );
    const done = collect(child, undefined, 30_000);
    const grant = await eventually(() =>
      db()
        .selectFrom('grants')
        .selectAll()
        .where('identity', '=', id)
        .where('state', '=', 'pending')
        .executeTakeFirst(),
    );
    expect(grant.reason).toBe('incident 7');
    const res = await fetch(`${w.broker.url}/v1/grants/${grant.id}/approve`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${await w.token('dba@example.com', ['dba'])}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({}),
    });
    expect(res.status).toBe(200);
    const r = await done;
    w.cliOutput.push(r.stdout, r.stderr);
    // Who must decide, and how, while it waits; then who did.
    expect(r.stderr).toContain(
      `Requested access to db-approval (${grant.id}); waiting for approval by dba (0 of 1); the request expires in`,
    );
    expect(r.stderr).toContain(`An approver runs \`gatectl approve ${grant.id}\`.`);
    expect(r.stderr).toContain('Approved by dba@example.com.');
    expect(r.stdout.trim()).toBe('5');
    expect(r.code).toBe(0);

    // Nobody decides within --wait: exit 6 (still pending).
    const timedOut = await w.cli('impatient@example.com', [
      'exec',
      'db-approval',
      '--wait',
      '1s',
      '--',
      'true',
    ]);
    expect(timedOut.code).toBe(6);
    expect(timedOut.stderr).toContain('is still pending');
  });

  it('withdraws its request on Ctrl-C while waiting for an approval', async () => {
    const child = spawnCli(['connect', 'db-approval', '--reason', 'incident 8'], {
      env: await w.cliEnv('changed-mind@example.com'),
    });
    const done = collect(child, undefined, 30_000);
    const [, id] = await waitForStderr(child, /Requested access to db-approval \((gr_[0-9a-z]+)\)/);
    child.kill('SIGINT');
    const r = await done;
    w.cliOutput.push(r.stdout, r.stderr);
    expect(r.code).toBe(130);
    expect(r.stderr).toContain(`Withdrew request ${id}.`);
    const row = await db().selectFrom('grants').selectAll().where('id', '=', id!).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ state: 'ended', end_reason: 'withdrawn by the requester' });
  });

  it('closes the local port and exits when the grant runs out', async () => {
    const c = await startConnect('short@example.com', ['--duration', '2s', '--json']);
    const { port } = JSON.parse(c.line) as { port: number };
    expect(await c.exited).toBe(0);
    expect(c.stderr()).toMatch(/The grant to db ended at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ; tunnel closed\./);
    await expect(
      run('psql', ['-XAt', `postgresql://gatectl:x@127.0.0.1:${port}/app`, '-c', 'select 1']),
    ).rejects.toThrow();
    const t = await db()
      .selectFrom('tunnels')
      .selectAll()
      .where('identity', '=', 'short@example.com')
      .executeTakeFirstOrThrow();
    expect(t.closed_at).not.toBeNull();
  });

  it('exits within seconds when an approver revokes the grant, ending its sessions', async () => {
    const id = 'revoked@example.com';
    const dba = await w.token('dba@example.com', ['dba']);
    const mine = await w.token(id);
    const post = async (token: string, path: string, body: unknown) => {
      const res = await fetch(`${w.broker.url}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      return (await res.json()) as { grant: { id: string; state: string } };
    };
    const { grant } = await post(mine, '/v1/grants', { target: 'db-approval', reason: 'incident 9' });
    expect((await post(dba, `/v1/grants/${grant.id}/approve`, {})).grant.state).toBe('approved');

    const child = spawnCli(['connect', 'db-approval', '--json'], { env: await w.cliEnv(id) });
    const done = collect(child, undefined, 30_000);
    let stdout = '';
    const line = await new Promise<string>((resolve, reject) => {
      child.stdout!.on('data', (d: Buffer) => {
        stdout += String(d);
        if (stdout.includes('\n')) resolve(stdout.split('\n')[0]!);
      });
      child.once('exit', (code) => reject(new Error(`gatectl connect exited with ${code}`)));
    });
    const { uri, port } = JSON.parse(line) as { uri: string; port: number };
    expect(await psql(uri, 'select 6')).toBe('6');
    // A session in progress when the grant is revoked.
    const sleeper = run('psql', ['-XAt', uri, '-c', 'select pg_sleep(30)']).then(
      () => 0,
      (err: { code?: number }) => err.code ?? -1,
    );
    await eventually(async () => {
      const r = await w.pg.query(
        "select 1 from pg_stat_activity where query = 'select pg_sleep(30)' and state = 'active'",
      );
      return r.rowCount === 1;
    }, 15_000);

    const revoke = await w.cli('dba@example.com', ['revoke', grant.id, '--reason', 'incident closed'], {
      env: { GATECTL_TOKEN: dba },
    });
    expect(revoke.code).toBe(0);
    const t0 = Date.now();
    const r = await done;
    const elapsed = Date.now() - t0;
    w.cliOutput.push(r.stdout, r.stderr);
    expect(r.stderr).toContain(
      'The grant to db-approval was revoked by dba@example.com: incident closed; tunnel closed.',
    );
    expect(r.code).toBe(1);
    expect(elapsed).toBeLessThan(5000);
    expect(await sleeper).toBe(2);
    await expect(
      run('psql', ['-XAt', `postgresql://gatectl:x@127.0.0.1:${port}/app`, '-c', 'select 1']),
    ).rejects.toThrow();
    const t = await db()
      .selectFrom('tunnels')
      .selectAll()
      .where('grant_id', '=', grant.id)
      .executeTakeFirstOrThrow();
    expect(t.closed_at).not.toBeNull();
    expect(await childrenOf(process.pid)).toEqual([]);
  });

  it('never lets the upstream password reach the CLI, and leaves no open session', async () => {
    const received = w.received();
    expect(received.includes(Buffer.from('"secret"'))).toBe(true);
    expect(received.includes(Buffer.from(w.upstreamPassword))).toBe(false);
    for (const out of w.cliOutput) expect(out).not.toContain(w.upstreamPassword);
    expect(await openSessions(w)).toBe(0);
  });
});
