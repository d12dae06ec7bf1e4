import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliResult, runCli, tempHome } from './support/cli.js';
import { deviceLogin, type IdentityStack, startIdentityStack } from './support/identity-stack.js';

const EXPIRED = 'error: Your gatectl session expired: run `gatectl login`\n';

let stack: IdentityStack;
beforeAll(async () => {
  // Broker sessions of 3 s, so expiry happens within a test.
  stack = await startIdentityStack({ sessionTtl: '3s' });
});
afterAll(async () => {
  await stack?.close();
});

interface Stored {
  token: string;
  refresh_token?: string;
  expires_at: string;
}
const readStored = (home: string): Stored =>
  JSON.parse(readFileSync(join(home, 'credentials.json'), 'utf8')).profiles.default as Stored;

/** The broker tolerates 30 s of clock skew on its own tokens' expiry. */
const BROKER_SKEW_MS = 30_000;

async function waitUntilExpired(stored: Stored): Promise<void> {
  await sleep(Math.max(0, Date.parse(stored.expires_at) - Date.now()) + BROKER_SKEW_MS + 1500);
  // Prove the broker itself now refuses the stored token as expired.
  const res = await fetch(`${stack.broker.url}/v1/auth/me`, {
    headers: { authorization: `Bearer ${stored.token}` },
  });
  expect(res.status).toBe(401);
  expect(((await res.json()) as { error: { code: string } }).error.code).toBe('token_expired');
}

const text = (...rs: CliResult[]) => rs.map((r) => r.stdout + r.stderr).join('\n');

// Concurrent: each test waits out a session's expiry plus the broker's clock tolerance.
describe.concurrent('session renewal and expiry', () => {
  it('renews an expired broker token silently with the IdP refresh token', async () => {
    const home = tempHome();
    const env = { GATECTL_HOME: home, GATECTL_NO_KEYRING: '1' };
    const login = await deviceLogin(stack, env);
    expect(login.code).toBe(0);
    const first = readStored(home);
    expect(first.refresh_token).toBeTruthy();
    await waitUntilExpired(first);

    const status = await runCli(['status', '--json'], { env });
    expect(status.stderr).toBe('');
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ identity: 'alice@example.com', groups: ['engineers'] });
    const second = readStored(home);
    expect(second.token).not.toBe(first.token);
    expect(Date.parse(second.expires_at)).toBeGreaterThan(Date.parse(first.expires_at));
    expect(second.refresh_token).toBeTruthy();

    const logins = await stack.broker.broker.ctx.store.db
      .selectFrom('audit_events')
      .select(['actor'])
      .where('type', '=', 'auth.login')
      .where('actor', '=', 'alice@example.com')
      .execute();
    expect(logins.length).toBeGreaterThanOrEqual(2);

    const secrets = [first.token, first.refresh_token!, second.token, second.refresh_token!];
    for (const s of secrets) {
      expect(text(login, status)).not.toContain(s);
      expect(stack.logs()).not.toContain(s);
    }
    expect(stack.logs()).toContain('/v1/auth/token');
  }, 120_000);

  it('renews after the broker answers token_expired, when the local expiry looked fine', async () => {
    const home = tempHome();
    const env = { GATECTL_HOME: home, GATECTL_NO_KEYRING: '1' };
    expect((await deviceLogin(stack, env, 'Carol Example')).code).toBe(0);
    const file = join(home, 'credentials.json');
    const creds = JSON.parse(readFileSync(file, 'utf8'));
    const first = { ...creds.profiles.default } as Stored;
    // A skewed local clock: the CLI believes the token is good, so only the broker's 401 triggers renewal.
    creds.profiles.default.expires_at = '2099-01-01T00:00:00.000Z';
    writeFileSync(file, JSON.stringify(creds), { mode: 0o600 });
    await waitUntilExpired(first);

    const r = await runCli(['status', '--json'], { env });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ identity: 'carol@example.com', groups: ['auditors'] });
    expect(readStored(home).token).not.toBe(first.token);
  }, 120_000);

  it('renews once when several commands find the session expired at the same time', async () => {
    const home = tempHome();
    const env = { GATECTL_HOME: home, GATECTL_NO_KEYRING: '1' };
    expect((await deviceLogin(stack, env)).code).toBe(0);
    await waitUntilExpired(readStored(home));

    const runs = await Promise.all([1, 2, 3].map(() => runCli(['status', '--json'], { env })));
    for (const r of runs) {
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
    }
    // The refresh-token chain is intact: a spent (rotated) refresh token would have made the IdP
    // revoke the grant, and this later renewal would fail.
    await waitUntilExpired(readStored(home));
    const later = await runCli(['status', '--json'], { env });
    expect(later.stderr).toBe('');
    expect(later.code).toBe(0);
  }, 150_000);

  it('exits 4 with the session-expired message when there is no refresh token', async () => {
    const home = tempHome();
    const env = { GATECTL_HOME: home, GATECTL_NO_KEYRING: '1' };
    const idToken = await stack.ci.sign({ repository: 'acme/payments' });
    const login = await runCli(['login', '--with-token', '--broker', stack.broker.url], {
      env,
      input: idToken,
    });
    expect(login.code).toBe(0);
    const stored = readStored(home);
    await waitUntilExpired(stored);

    for (const args of [['status'], ['status', '--json'], ['targets']]) {
      const r = await runCli(args, { env });
      expect(r.code).toBe(4);
      expect(r.stderr).toBe(EXPIRED);
      expect(r.stdout).toBe('');
      expect(text(r)).not.toContain(stored.token);
    }
    expect(stack.logs()).not.toContain(stored.token);
    expect(stack.logs()).not.toContain(idToken);
  }, 120_000);

  it('exits 4 with the same message when the IdP refuses the refresh token', async () => {
    const home = tempHome();
    const env = { GATECTL_HOME: home, GATECTL_NO_KEYRING: '1' };
    expect((await deviceLogin(stack, env, 'Bob Example')).code).toBe(0);
    const file = join(home, 'credentials.json');
    const creds = JSON.parse(readFileSync(file, 'utf8'));
    creds.profiles.default.refresh_token = 'not-a-refresh-token-the-idp-ever-issued';
    writeFileSync(file, JSON.stringify(creds), { mode: 0o600 });
    await waitUntilExpired(creds.profiles.default);

    const r = await runCli(['status'], { env });
    expect(r.code).toBe(4);
    expect(r.stderr).toBe(EXPIRED);
    expect(r.stderr).not.toContain('not-a-refresh-token');
  }, 120_000);
});
