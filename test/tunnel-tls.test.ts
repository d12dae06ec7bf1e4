import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect, spawnCli } from './support/cli.js';
import { selfSignedCertificate } from './support/self-signed.js';
import { eventually, startTunnelWorld, TARGET, type TunnelWorld } from './tunnel-fixtures.js';

let w: TunnelWorld;
let dir: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'gatectl-tls-'));
  const { cert, key } = selfSignedCertificate(dir, { name: 'broker', subject: '/CN=gatectl test broker' });
  w = await startTunnelWorld({ tls: { cert, key } });
});
afterAll(async () => {
  await w?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('tunnel over https', () => {
  it('carries the connection in a TLS WebSocket (wss) when the broker URL is https', async () => {
    expect(w.cliBrokerUrl).toMatch(/^https:/);
    const env = { NODE_EXTRA_CA_CERTS: join(dir, 'broker.pem') };
    const r = await w.cli('tls@example.com', ['exec', TARGET, '--', 'psql', '-XAtc', "select 'over tls'"], {
      env,
    });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('over tls');
    // Only ciphertext passed the proxy: neither the result nor the secret's JSON field is readable.
    const seen = w.received();
    expect(seen.length).toBeGreaterThan(1000);
    expect(seen.includes(Buffer.from('over tls'))).toBe(false);
    expect(seen.includes(Buffer.from('"secret"'))).toBe(false);

    // An untrusted certificate is refused rather than silently accepted.
    const untrusted = await w.cli('tls@example.com', ['exec', TARGET, '--', 'true']);
    expect(untrusted.code).not.toBe(0);
  });

  it('ends live sessions with a FATAL and records them when the broker shuts down', async () => {
    const env = await w.cliEnv('shutdown@example.com', { NODE_EXTRA_CA_CERTS: join(dir, 'broker.pem') });
    const child = spawnCli(['exec', TARGET, '--', 'psql', '-XAtc', 'select pg_sleep(25)'], { env });
    const done = collect(child, undefined, 30_000);
    await eventually(async () => {
      const r = await w.pg.query(
        "select 1 from pg_stat_activity where query = 'select pg_sleep(25)' and state = 'active'",
      );
      return r.rowCount === 1;
    }, 15_000);
    const t0 = Date.now();
    const file = join(w.broker.dir, 'broker.db');
    const copy = join(dir, 'after-shutdown.db');
    await w.broker.broker.close();
    expect(Date.now() - t0).toBeLessThan(5000);
    const r = await done;
    expect(r.stderr).toMatch(/FATAL: +the broker is shutting down/);
    copyFileSync(file, copy);
    const sqlite = new Database(copy, { readonly: true });
    try {
      const rows = sqlite
        .prepare("select ended_at, end_reason from sessions where identity = 'shutdown@example.com'")
        .all() as Array<{ ended_at: number | null; end_reason: string }>;
      expect(rows).toEqual([{ ended_at: expect.any(Number), end_reason: 'broker_shutdown' }]);
    } finally {
      sqlite.close();
    }
  });
});
