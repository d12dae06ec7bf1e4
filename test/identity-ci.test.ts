import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevCiIssuer } from '../src/auth/dev/dev-ci-issuer.js';
import { type CliResult, runCli, tempHome } from './support/cli.js';
import { type IdentityStack, startIdentityStack } from './support/identity-stack.js';

let stack: IdentityStack;
beforeAll(async () => {
  stack = await startIdentityStack();
});
afterAll(async () => {
  await stack?.close();
});

const all = (...results: CliResult[]) => results.map((r) => r.stdout + r.stderr).join('\n');

describe('CI identities from OIDC tokens', () => {
  it('`broker dev-token | login --with-token` logs a CI job in; status and logout follow', async () => {
    const home = tempHome();
    const env = { GATECTL_HOME: home, GATECTL_NO_KEYRING: '1' };
    const minted = await runCli([
      'broker',
      'dev-token',
      '--identity',
      'acme/payments',
      '--group',
      'deployers',
      'readers',
      '--data-dir',
      stack.dataDir,
    ]);
    expect(minted.code).toBe(0);
    const idToken = minted.stdout.trim();
    expect(idToken.split('.')).toHaveLength(3);

    const login = await runCli(['login', '--with-token', '--broker', stack.broker.url], {
      env,
      input: `${idToken}\n`,
    });
    expect(login.code).toBe(0);
    expect(login.stderr).toContain('as ci:acme/payments (groups: deployers, readers)');
    // The fallback is announced once, at login, and the file is private.
    expect(login.stderr.match(/No OS keychain is available/g)).toHaveLength(1);
    const file = join(home, 'credentials.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);

    const status = await runCli(['status', '--json'], { env });
    expect(status.code).toBe(0);
    expect(status.stderr).not.toContain('No OS keychain');
    expect(JSON.parse(status.stdout)).toMatchObject({
      broker: stack.broker.url,
      identity: 'ci:acme/payments',
      kind: 'machine',
      groups: ['deployers', 'readers'],
      token_source: 'file',
    });
    const stored = JSON.parse(readFileSync(file, 'utf8')).profiles.default;
    expect(stored.refresh_token).toBeUndefined();

    const logout = await runCli(['logout'], { env });
    expect(logout.code).toBe(0);
    expect(logout.stderr).toContain('Logged out');
    expect(existsSync(file)).toBe(false);
    const revoked = await stack.broker.broker.ctx.store.db.selectFrom('revoked_tokens').selectAll().execute();
    expect(revoked.map((r) => r.identity)).toContain('ci:acme/payments');
    const after = await runCli(['status'], { env });
    expect(after.code).toBe(4);

    // Neither the ID token nor the broker token shows up anywhere the user or a log can see.
    const text = all(login, status, logout, after) + minted.stderr;
    expect(text).not.toContain(idToken);
    expect(text).not.toContain(stored.token);
  });

  it('maps GitHub claims to groups with the configured rules', async () => {
    const home = tempHome();
    const env = { GATECTL_HOME: home, GATECTL_NO_KEYRING: '1', GATECTL_BROKER: stack.broker.url };
    const deploy = await stack.ci.sign({
      repository: 'acme/payments',
      ref: 'refs/heads/main',
      environment: 'production',
    });
    const r1 = await runCli(['status', '--json'], { env: { ...env, GATECTL_ID_TOKEN: deploy } });
    expect(r1.code).toBe(0);
    expect(JSON.parse(r1.stdout)).toMatchObject({
      identity: 'ci:acme/payments',
      groups: ['deployers'],
      token_source: 'env:GATECTL_ID_TOKEN',
    });
    const branch = await stack.ci.sign({
      repository: 'acme/payments',
      ref: 'refs/heads/feature',
      environment: 'production',
    });
    const r2 = await runCli(['status', '--json'], { env: { ...env, GATECTL_ID_TOKEN: branch } });
    expect(r2.code).toBe(0);
    expect(JSON.parse(r2.stdout).groups).toEqual([]);
    expect(all(r1, r2)).not.toContain(deploy);
    expect(all(r1, r2)).not.toContain(branch);
  });

  it('uses GATECTL_ID_TOKEN for any command when no login is stored', async () => {
    const idToken = await stack.ci.sign({ repository: 'acme/batch' });
    const r = await runCli(['targets', '--json'], {
      env: { GATECTL_BROKER: stack.broker.url, GATECTL_ID_TOKEN: idToken, GATECTL_NO_KEYRING: '1' },
    });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([]);
    expect(all(r)).not.toContain(idToken);
  });

  it('takes a broker token from GATECTL_TOKEN as is', async () => {
    const token = await stack.broker.token({
      id: 'agent:release-bot',
      kind: 'machine',
      groups: ['deployers'],
    });
    const r = await runCli(['status', '--json'], {
      env: { GATECTL_BROKER: stack.broker.url, GATECTL_TOKEN: token },
    });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      identity: 'agent:release-bot',
      token_source: 'env:GATECTL_TOKEN',
    });
    expect(all(r)).not.toContain(token);
  });

  it('refuses a token from an unknown issuer and one for the wrong audience (exit 4, short reason)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gatectl-rogue-'));
    const rogue = await startDevCiIssuer({ dataDir: dir, port: 0 });
    try {
      const home = tempHome();
      const env = { GATECTL_HOME: home, GATECTL_NO_KEYRING: '1' };
      const unknown = await rogue.sign({ repository: 'acme/payments' });
      const r1 = await runCli(['login', '--with-token', '--broker', stack.broker.url], {
        env,
        input: unknown,
      });
      expect(r1.code).toBe(4);
      expect(r1.stderr).toBe(
        'error: The broker refused the ID token: token issuer is not trusted by this broker\n',
      );

      const wrongAud = await stack.ci.sign({ repository: 'acme/payments', aud: 'https://github.com/acme' });
      const r2 = await runCli(['login', '--with-token', '--broker', stack.broker.url], {
        env,
        input: wrongAud,
      });
      expect(r2.code).toBe(4);
      expect(r2.stderr).toBe('error: The broker refused the ID token: token is meant for another audience\n');

      const r3 = await runCli(['status'], {
        env: { ...env, GATECTL_BROKER: stack.broker.url, GATECTL_ID_TOKEN: wrongAud },
      });
      expect(r3.code).toBe(4);
      expect(r3.stderr).toContain('token is meant for another audience');
      expect(existsSync(join(home, 'credentials.json'))).toBe(false);
      expect(all(r1, r2, r3)).not.toContain(unknown.split('.')[2]!);
      expect(all(r1, r2, r3)).not.toContain(wrongAud.split('.')[2]!);
    } finally {
      await rogue.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
