import type { ChildProcess } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ResourceLimits } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BrokerTokens } from '../src/auth/broker-token.js';
import { BROKER_RESOURCE_LIMITS } from '../src/broker/thread.js';
import { Secret } from '../src/lib/secret.js';
import { openStore } from '../src/store/store.js';
import { collect, runCli, spawnCli } from './support/cli.js';
import { selfSignedCertificate } from './support/self-signed.js';

/** `gatectl broker start` as a real process: TLS, logs, shutdown and store failures. */

let dir: string;
const children: ChildProcess[] = [];
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'gatectl-broker-cli-'));
});
afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

interface Running {
  child: ChildProcess;
  url: string;
  port: number;
  /** Everything the broker wrote to stdout (its JSON log) so far. */
  stdout(): string;
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Spawns `gatectl broker start` and waits for its "listening on" line. */
async function startBrokerCli(config: string, env: NodeJS.ProcessEnv = {}): Promise<Running> {
  const file = join(dir, `broker-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, config);
  const child = spawnCli(['broker', 'start', '--config', file], { env });
  children.push(child);
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    out += d;
  });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    err += d;
  });
  child.stdin!.end();
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`broker did not start:\n${err}`)), 20_000);
    const check = () => {
      const m = /listening on (\S+)/.exec(err);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    child.stderr!.on('data', check);
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`broker exited:\n${err}`));
    });
  });
  return {
    child,
    url,
    port: Number(new URL(url).port),
    stdout: () => out,
    stderr: () => err,
    exited,
  };
}

function portAccepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

async function stop(b: Running): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  b.child.kill('SIGTERM');
  return b.exited;
}

describe('gatectl broker start', () => {
  it('shuts down gracefully on SIGTERM: exit 0 and the port is closed', async () => {
    const b = await startBrokerCli(`listen: 127.0.0.1:0\nstore: sqlite://./sigterm.db\n`);
    const health = await fetch(`${b.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await (await fetch(`${b.url}/readyz`)).json()).toEqual({ status: 'ready' });
    expect(await portAccepts(b.port)).toBe(true);
    const { code, signal } = await stop(b);
    expect(signal).toBeNull();
    expect(code).toBe(0);
    expect(await portAccepts(b.port)).toBe(false);
    expect(b.stderr()).not.toMatch(/\n\s+at /);
    const log = b
      .stdout()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { msg: string; resourceLimits?: ResourceLimits });
    expect(log.map((l) => l.msg)).toEqual(expect.arrayContaining(['broker listening', 'shutting down']));
    // The broker runs on a thread whose young generation is capped (see src/broker/thread.ts).
    const thread = log.find((l) => l.msg === 'broker thread');
    expect(thread?.resourceLimits?.maxYoungGenerationSizeMb).toBe(
      BROKER_RESOURCE_LIMITS.maxYoungGenerationSizeMb,
    );
  });

  it('serves HTTPS when tls.cert and tls.key are configured', async () => {
    const tlsDir = mkdtempSync(join(dir, 'tls-'));
    selfSignedCertificate(tlsDir, { name: 'cert' });
    const ca = readFileSync(join(tlsDir, 'cert.pem'));
    // Relative paths are relative to the configuration file.
    const rel = tlsDir.slice(dir.length + 1);
    const b = await startBrokerCli(
      `listen: 127.0.0.1:0\nstore: sqlite://./tls.db\ntls:\n  cert: ./${rel}/cert.pem\n  key: ./${rel}/cert-key.pem\n`,
    );
    try {
      expect(b.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      const body = await new Promise<{ status: number; body: string; protocol: string }>(
        (resolve, reject) => {
          const req = httpsRequest(`${b.url}/healthz`, { ca }, (res) => {
            const protocol = (res.socket as unknown as { getProtocol(): string }).getProtocol();
            let data = '';
            res.setEncoding('utf8').on('data', (d: string) => {
              data += d;
            });
            res.on('end', () =>
              resolve({
                status: res.statusCode ?? 0,
                body: data,
                protocol,
              }),
            );
          });
          req.on('error', reject);
          req.end();
        },
      );
      expect(body.status).toBe(200);
      expect(JSON.parse(body.body)).toEqual({ status: 'ok' });
      expect(body.protocol).toMatch(/^TLSv1\.[23]$/);
      // Plain HTTP on the TLS port gets no answer.
      await expect(fetch(`http://127.0.0.1:${b.port}/healthz`)).rejects.toThrow();
    } finally {
      await stop(b);
    }
  });

  it('refuses TLS files it cannot read, naming the line', async () => {
    const file = join(dir, 'tls-missing.yaml');
    writeFileSync(file, `listen: 127.0.0.1:0\ntls:\n  cert: ./nope-cert.pem\n  key: ./nope-key.pem\n`);
    const r = await runCli(['broker', 'start', '--config', file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${file}:3:3: tls.cert: cannot read ${join(dir, 'nope-cert.pem')} (ENOENT)`);
    expect(r.stderr).toContain(`${file}:4:3: tls.key: cannot read`);
  });

  it('writes JSON logs that never contain secrets, tokens or query-string credentials', async () => {
    const envSecret = 'env-db-password-5e1f0c';
    const fileSecret = 'file-db-password-9a7b3d';
    const clientSecret = 'oidc-client-secret-2c4e6a';
    writeFileSync(join(dir, 'db2-password'), `${fileSecret}\n`, { mode: 0o600 });
    const { privateKey } = generateKeyPairSync('ed25519');
    const signingPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    writeFileSync(join(dir, 'session-key.pem'), signingPem, { mode: 0o600 });
    const target = (name: string, password: string) => `  - name: ${name}
    kind: postgres
    address: 127.0.0.1:5432
    database: app
    credentials:
      username: app
      password: ${password}
    access:
      groups: [engineers]
`;
    const b = await startBrokerCli(
      `listen: 127.0.0.1:0
store: sqlite://./logs.db
log:
  level: debug
auth:
  oidc:
    issuer: https://idp.example.com
    client_id: gatectl-cli
    client_secret: { env: GATECTL_TEST_CLIENT_SECRET }
  session:
    signing_key: { file: ./session-key.pem }
targets:
${target('db1', '{ env: GATECTL_TEST_DB1_PASSWORD }')}${target('db2', '{ file: ./db2-password }')}`,
      { GATECTL_TEST_DB1_PASSWORD: envSecret, GATECTL_TEST_CLIENT_SECRET: clientSecret },
    );
    // A broker token signed with the configured key, as `gatectl login` would hold.
    const store = await openStore('sqlite::memory:');
    const tokens = await BrokerTokens.open(store, new Secret(signingPem, 'test'));
    const { token } = await tokens.issue(
      { id: 'alice@example.com', kind: 'human', groups: ['engineers'] },
      60_000,
    );
    await store.close();
    try {
      const ok = await fetch(`${b.url}/v1/targets`, { headers: { authorization: `Bearer ${token}` } });
      expect(ok.status).toBe(200);
      expect(((await ok.json()) as { targets: unknown[] }).targets).toHaveLength(2);
      // Credentials where they do not belong must not reach the log either.
      await fetch(`${b.url}/v1/targets?access_token=${token}`);
      await fetch(`${b.url}/v1/targets`, {
        headers: { authorization: `Bearer ${token}x`, cookie: `s=${token}` },
      });
      await fetch(`${b.url}/v1/nowhere?password=${envSecret}`);
    } finally {
      expect((await stop(b)).code).toBe(0);
    }
    const log = b.stdout();
    const lines = log.trim().split('\n');
    expect(lines.length).toBeGreaterThan(5);
    for (const l of lines) expect(() => JSON.parse(l), l).not.toThrow();
    // The requests were logged (so the check below is meaningful) ...
    expect(log).toContain('/v1/targets');
    expect(log).toContain('/v1/nowhere');
    // ... but no secret, no token and no part of the signing key.
    for (const secret of [envSecret, fileSecret, clientSecret, token, token.split('.')[2]!]) {
      expect(log).not.toContain(secret);
      expect(b.stderr()).not.toContain(secret);
    }
    expect(log).not.toContain(signingPem.split('\n')[1]!);
  });

  it('reports a corrupt SQLite store clearly, with exit code 1 and no stack trace', async () => {
    writeFileSync(join(dir, 'corrupt.db'), 'this is not a database, it is a text file '.repeat(200));
    const file = join(dir, 'corrupt.yaml');
    writeFileSync(file, `listen: 127.0.0.1:0\nstore: sqlite://./corrupt.db\n`);
    const r = await runCli(['broker', 'start', '--config', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `error: cannot open the SQLite store at ${join(dir, 'corrupt.db')}: file is not a database\n`,
    );
  });

  it('reports an unreachable PostgreSQL store clearly, without its password', async () => {
    const file = join(dir, 'unreachable.yaml');
    // Port 9 (discard) is not a PostgreSQL server on any test machine; the connection is refused.
    writeFileSync(file, `listen: 127.0.0.1:0\nstore: postgres://broker:hunter2-secret@127.0.0.1:9/gatectl\n`);
    const r = await runCli(['broker', 'start', '--config', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /^error: cannot connect to the PostgreSQL store at postgres:\/\/broker:\*\*\*@127\.0\.0\.1:9\/gatectl: /,
    );
    expect(r.stderr).not.toContain('hunter2-secret');
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.stdout).toBe('');
  });

  it('reports a port already in use with exit code 1 and a hint', async () => {
    const b = await startBrokerCli(`listen: 127.0.0.1:0\nstore: sqlite://./first.db\n`);
    try {
      const file = join(dir, 'busy.yaml');
      writeFileSync(file, `listen: 127.0.0.1:${b.port}\nstore: sqlite://./second.db\n`);
      const child = spawnCli(['broker', 'start', '--config', file]);
      const r = await collect(child);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('cannot listen');
      expect(r.stderr).toContain('Change `listen` in the configuration.');
    } finally {
      await stop(b);
    }
  });
});
