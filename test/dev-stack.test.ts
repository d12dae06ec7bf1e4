import { execFile, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { DEMO_CARDS } from '../src/broker/dev/cards.js';
import { collect, runCli, spawnCli, tempHome } from './support/cli.js';
import { startPostgres } from './support/postgres.js';

const run = promisify(execFile);

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

function processesUsing(path: string): string {
  const r = spawnSync('pgrep', ['-af', path], { encoding: 'utf8' });
  return r.stdout.trim();
}

const root = mkdtempSync(join(tmpdir(), 'gatectl-dev-'));
// When the tests run as root the demo server runs as `postgres`, which must reach its directory.
chmodSync(root, 0o755);
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

describe('gatectl broker dev', () => {
  it('is healthy within 15 s, psql reads the seeded cards, and Ctrl-C leaves nothing behind', async () => {
    if (process.env.CI) expect(spawnSync('sh', ['-c', 'command -v psql && command -v pgrep']).status).toBe(0);
    const dataDir = join(root, 'dev');
    const home = tempHome();
    const started = Date.now();
    const child = spawnCli(['broker', 'dev', '--data-dir', dataDir, '--port', '0'], {
      env: { GATECTL_HOME: home },
    });
    const result = collect(child, undefined, 120_000);
    let stderr = '';
    child.stderr!.on('data', (d: Buffer | string) => {
      stderr += d.toString();
    });
    try {
      // The broker URL is printed once everything is up; /healthz must answer within 15 s of the start.
      let brokerUrl = '';
      while (Date.now() - started < 15_000 && !brokerUrl) {
        brokerUrl = /^\s*broker\s+(http:\/\/127\.0\.0\.1:\d+)/m.exec(stderr)?.[1] ?? '';
        if (!brokerUrl) await new Promise((r) => setTimeout(r, 100));
      }
      expect(brokerUrl, `no broker URL within 15 s:\n${stderr}`).not.toBe('');
      const health = await fetch(`${brokerUrl}/healthz`);
      expect(health.status).toBe(200);
      expect(Date.now() - started).toBeLessThanOrEqual(15_000);

      // The banner: loudly dev-only, the users, the next commands.
      expect(stderr).toContain('DEV ONLY');
      for (const user of ['alice', 'bob', 'carol'])
        expect(stderr).toMatch(new RegExp(`^\\s+${user}\\s`, 'm'));
      expect(stderr).toMatch(/alice\s+engineers/);
      expect(stderr).toMatch(/bob\s+dba-oncall/);
      expect(stderr).toMatch(/carol\s+auditors/);
      expect(stderr).toContain(`gatectl login --broker ${brokerUrl}`);
      expect(stderr).toContain('gatectl connect demo-db');
      const idpUrl = /identity provider\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(stderr)?.[1];
      expect(idpUrl).toBeDefined();
      expect((await fetch(`${idpUrl}/.well-known/openid-configuration`)).status).toBe(200);

      // psql with the printed URL reads the seeded card numbers.
      const adminUrl = /demo database\s+(postgres:\/\/\S+)/.exec(stderr)?.[1];
      expect(adminUrl).toBeDefined();
      const { stdout } = await run(
        'psql',
        [adminUrl!, '-X', '-At', '-c', 'select pan from payments.cards order by id'],
        {
          env: { ...process.env, PGCONNECT_TIMEOUT: '10' },
        },
      );
      expect(stdout.trim().split('\n')).toEqual(DEMO_CARDS.map((c) => c.pan));
      const orders = await run(
        'psql',
        [adminUrl!, '-X', '-At', '-c', 'select count(*) from payments.orders'],
        {},
      );
      expect(Number(orders.stdout.trim())).toBeGreaterThan(0);

      // The generated broker config: demo-db with broker-held credentials in a 0600 file.
      const config = parse(readFileSync(join(dataDir, 'broker.yaml'), 'utf8')) as {
        auth: { oidc: { issuer: string }; machine_issuers: unknown[] };
        targets: Array<{
          name: string;
          kind: string;
          credentials: { username: string; password: { file: string } };
          access: { groups: string[]; auto_approve: string[]; approval: { approvers: string[] } };
        }>;
      };
      expect(config.auth.oidc.issuer).toBe(idpUrl);
      expect(config.auth.machine_issuers).toHaveLength(1);
      const demo = config.targets.find((t) => t.name === 'demo-db')!;
      expect(demo).toMatchObject({
        kind: 'postgres',
        credentials: { username: 'gatectl_demo' },
        access: {
          groups: ['engineers', 'deployers'],
          auto_approve: ['deployers'],
          approval: { approvers: ['dba-oncall'] },
        },
      });
      expect(statSync(demo.credentials.password.file).mode & 0o777).toBe(0o600);
      const rolePassword = readFileSync(demo.credentials.password.file, 'utf8');
      expect(stderr).not.toContain(rolePassword);
      // The broker-held login works and can read the demo tables.
      const port = new URL(adminUrl!).port;
      const asRole = await run(
        'psql',
        [
          '-X',
          '-At',
          '-h',
          '127.0.0.1',
          '-p',
          port,
          '-U',
          'gatectl_demo',
          '-d',
          'demo',
          '-c',
          'select count(*) from payments.cards',
        ],
        { env: { ...process.env, PGPASSWORD: rolePassword } },
      );
      expect(Number(asRole.stdout.trim())).toBe(DEMO_CARDS.length);

      // A CI-style login against the stack sees demo-db (deployers are approved automatically).
      const ciToken = await runCli(['broker', 'dev-token', '--data-dir', dataDir, '--group', 'deployers'], {
        env: { GATECTL_HOME: home },
      });
      expect(ciToken.code, ciToken.stderr).toBe(0);
      const login = await runCli(['login', '--with-token', '--broker', brokerUrl], {
        env: { GATECTL_HOME: home },
        input: ciToken.stdout,
      });
      expect(login.code, login.stderr).toBe(0);
      const targets = await runCli(['targets', '--json'], { env: { GATECTL_HOME: home } });
      expect(targets.code, targets.stderr).toBe(0);
      expect(JSON.parse(targets.stdout)).toMatchObject([
        { name: 'demo-db', allowed: true, approval_required: false },
      ]);

      const ports = [Number(new URL(brokerUrl).port), Number(port), Number(new URL(idpUrl!).port)];
      for (const p of ports) expect(await portAccepts(p)).toBe(true);
      expect(processesUsing(dataDir)).not.toBe('');

      child.kill('SIGINT');
      const exit = await result;
      expect(exit.signal).toBeNull();
      expect(exit.code, exit.stderr).toBe(0);
      expect(exit.stderr).not.toMatch(/\n\s+at /);
      // Nothing remains: no PostgreSQL process of this data directory, no listening port.
      expect(processesUsing(dataDir)).toBe('');
      for (const p of ports) expect(await portAccepts(p), `port ${p} still open`).toBe(false);
    } finally {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGINT');
        await result.catch(() => {});
      }
      rmSync(home, { recursive: true, force: true });
    }
  });

  it('uses an existing PostgreSQL server with --target-url and leaves it running', async () => {
    await using server = await startPostgres();
    const dataDir = join(root, 'dev-external');
    const child = spawnCli([
      'broker',
      'dev',
      '--data-dir',
      dataDir,
      '--port',
      '0',
      '--target-url',
      server.url(),
    ]);
    const result = collect(child, undefined, 120_000);
    let stderr = '';
    child.stderr!.on('data', (d: Buffer | string) => {
      stderr += d.toString();
    });
    try {
      const started = Date.now();
      while (!/Ctrl-C stops everything/.test(stderr) && Date.now() - started < 30_000) {
        await new Promise((r) => setTimeout(r, 100));
      }
      const adminUrl = /demo database\s+(postgres:\/\/\S+)/.exec(stderr)?.[1];
      expect(adminUrl, stderr).toBeDefined();
      expect(new URL(adminUrl!).port).toBe(String(server.port));
      const cards = await server.query('select count(*)::int as n from payments.cards', 'demo');
      expect(cards.rows[0].n).toBe(DEMO_CARDS.length);
      expect(existsSync(join(dataDir, 'postgres'))).toBe(false);
    } finally {
      child.kill('SIGINT');
    }
    expect((await result).code).toBe(0);
    // The server belongs to someone else: the dev stack must not stop it.
    expect((await server.query('select 1 as one')).rows[0].one).toBe(1);
  });

  it('refuses a --target-url that is not a PostgreSQL URL', async () => {
    const r = await runCli(['broker', 'dev', '--data-dir', join(root, 'bad'), '--target-url', 'mysql://x']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--target-url must be a postgres:// URL');
  });
});
