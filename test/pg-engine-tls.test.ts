import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEngine } from './support/pg-engine.js';
import { makeCertificates, type TestCertificates } from './support/pg-tls.js';
import { startPostgres, type TestPostgres } from './support/postgres.js';
import { finishTool, runTool, spawnTool } from './support/run-tool.js';

const UPSTREAM_PASSWORD = 'Tls-Upstream-Pw-41d2';

let server: TestPostgres;
let certs: TestCertificates;

beforeAll(async () => {
  certs = makeCertificates();
  server = await startPostgres({ settings: certs.settings });
  await server.query(`create role app login password '${UPSTREAM_PASSWORD}'`);
  await server.query('create database appdb owner app');
});

afterAll(async () => {
  await server?.stop();
  certs?.cleanup();
});

function target(tls: Record<string, string>) {
  return { address: `127.0.0.1:${server.port}`, database: 'appdb', credentials: { username: 'app' }, tls };
}

const SSL_IN_USE = 'select ssl, version from pg_stat_ssl where pid = pg_backend_pid()';

describe('PostgreSQL engine, TLS to the target', () => {
  it('verify-full: checks the chain and the name, then relays over TLS', async () => {
    await using engine = await startEngine({
      target: target({ mode: 'verify-full', ca_file: certs.caFile }),
      upstreamPassword: UPSTREAM_PASSWORD,
    });
    const r = await runTool('psql', ['-X', '-At', '-c', SSL_IN_USE], { env: engine.env() });
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^t\|TLSv1\.[23]\n$/);
  });

  it('verify-full: server_name overrides the host checked against the certificate', async () => {
    await using engine = await startEngine({
      target: target({ mode: 'verify-full', ca_file: certs.caFile, server_name: 'localhost' }),
      upstreamPassword: UPSTREAM_PASSWORD,
    });
    const r = await runTool('psql', ['-X', '-At', '-c', SSL_IN_USE], { env: engine.env() });
    expect(r.stdout).toMatch(/^t\|/);
    await using wrongName = await startEngine({
      target: target({ mode: 'verify-full', ca_file: certs.caFile, server_name: 'db.example.com' }),
      upstreamPassword: UPSTREAM_PASSWORD,
    });
    const bad = await runTool('psql', ['-X', '-c', 'select 1'], { env: wrongName.env() });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('cannot connect to target "testdb"');
    expect(wrongName.logs()).toContain('db.example.com');
  });

  it('verify-full: refuses a server whose certificate another CA signed', async () => {
    await using engine = await startEngine({
      target: target({ mode: 'verify-full', ca_file: certs.otherCaFile }),
      upstreamPassword: UPSTREAM_PASSWORD,
    });
    const c = new pg.Client({ connectionString: engine.url() });
    const err = await c.connect().then(
      () => null,
      (e: Error & { code?: string }) => e,
    );
    await c.end().catch(() => {});
    expect(err?.code).toBe('08001');
    expect(err?.message).toBe('gatectl: cannot connect to target "testdb"');
    expect(engine.logs()).toMatch(/self[- ]signed|unable to verify|unable to get local issuer/i);
    await engine.waitForEnded(1);
    expect(engine.sessions[0]!.end?.reason).toBe('upstream connection failed');
  });

  it('require: encrypts without verifying', async () => {
    await using engine = await startEngine({
      target: target({ mode: 'require' }),
      upstreamPassword: UPSTREAM_PASSWORD,
    });
    const r = await runTool('psql', ['-X', '-At', '-c', SSL_IN_USE], { env: engine.env() });
    expect(r.stdout).toMatch(/^t\|TLSv1\.[23]\n$/);
  });

  it('disable: plain TCP', async () => {
    await using engine = await startEngine({
      target: target({ mode: 'disable' }),
      upstreamPassword: UPSTREAM_PASSWORD,
    });
    const r = await runTool('psql', ['-X', '-At', '-c', SSL_IN_USE], { env: engine.env() });
    expect(r.stdout).toBe('f|\n');
  });

  it('cancels over TLS', async () => {
    await using engine = await startEngine({
      target: target({ mode: 'verify-full', ca_file: certs.caFile }),
      upstreamPassword: UPSTREAM_PASSWORD,
    });
    const child = spawnTool('psql', ['-X', '-c', 'select pg_sleep(30)'], {
      ...engine.env(),
      PGAPPNAME: 'tls-cancel',
    });
    const done = finishTool(child);
    const running = async () =>
      (
        await server.query(
          "select 1 from pg_stat_activity where application_name = 'tls-cancel' and state = 'active'",
        )
      ).rowCount === 1;
    while (!(await running())) await new Promise((r) => setTimeout(r, 50));
    child.kill('SIGINT');
    const r = await done;
    expect(r.stderr).toContain('canceling statement due to user request');
  });
});
