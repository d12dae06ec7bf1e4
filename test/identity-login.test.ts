import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { collect, runCli, spawnCli, tempHome, waitForStderr } from './support/cli.js';
import { TestBrowser } from './support/identity-browser.js';
import { startIdentityStack } from './support/identity-stack.js';

describe('gatectl login (device flow against a real oidc-provider)', () => {
  it('logs alice in through the IdP pages, then status shows her and her groups', async () => {
    await using stack = await startIdentityStack();
    const home = tempHome();
    const env = { GATECTL_HOME: home, GATECTL_NO_KEYRING: '1' };
    const child = spawnCli(['login', '--broker', stack.broker.url], { env });
    const done = collect(child, undefined, 60_000);
    const [, code, verificationUrl] = await waitForStderr(
      child,
      /First copy your one-time code: ([A-Z0-9]{4}-[A-Z0-9]{4})\s+Open this URL to continue in your web browser: (\S+)/,
    );
    expect(verificationUrl).toBe(`${stack.idp.issuer}/device`);

    // A person at a browser: open the page, type the code, confirm, pick alice, allow.
    const browser = new TestBrowser();
    let page = await browser.get(verificationUrl!);
    expect(page.html).toContain('DEVELOPMENT IDENTITY PROVIDER');
    page = await browser.submit(page, { form: 'op.deviceInputForm', fill: { user_code: code! } });
    expect(page.html).toContain('Confirm the device');
    expect(page.html).toContain(code);
    page = await browser.submit(page, { form: 'op.deviceConfirmForm', button: 'Continue' });
    expect(page.html).toContain('Pick a dev user');
    page = await browser.submit(page, { button: 'Alice Example' });
    expect(page.html).toContain('Confirm sign-in');
    expect(page.html).toContain('alice');
    page = await browser.submit(page, { button: 'Confirm' });
    expect(page.status).toBe(200);
    expect(page.html).toContain('You are signed in');

    const login = await done;
    expect(login.stderr).toContain('Logged in to');
    expect(login.code).toBe(0);
    expect(login.stderr).toContain('alice@example.com');
    expect(login.stderr).toMatch(/No OS keychain is available: tokens are stored in .*credentials\.json/);
    expect(login.stderr).toContain(`with the code filled in: ${stack.idp.issuer}/device?user_code=${code}`);

    const status = await runCli(['status', '--json'], { env });
    expect(status.code).toBe(0);
    const json = JSON.parse(status.stdout);
    expect(json).toMatchObject({
      broker: stack.broker.url,
      identity: 'alice@example.com',
      kind: 'human',
      groups: ['engineers'],
      token_source: 'file',
      credentials_file: join(home, 'credentials.json'),
    });
    expect(Date.parse(json.expires_at) - Date.now()).toBeGreaterThan(7 * 3600_000);

    // The broker recorded the identity and an auth.login event.
    const db = stack.broker.broker.ctx.store.db;
    const identity = await db
      .selectFrom('identities')
      .selectAll()
      .where('id', '=', 'alice@example.com')
      .executeTakeFirst();
    expect(identity).toMatchObject({ kind: 'human', groups: '["engineers"]', issuer: stack.idp.issuer });
    const events = await db.selectFrom('audit_events').selectAll().where('type', '=', 'auth.login').execute();
    expect(events.map((e) => e.actor)).toEqual(['alice@example.com']);

    // Token values never appear in output or logs.
    const creds = JSON.parse(readFileSync(join(home, 'credentials.json'), 'utf8'));
    const stored = creds.profiles.default;
    expect(stored.token).toMatch(/^ey/);
    expect(stored.refresh_token).toBeTruthy();
    const text = plain(login) + plain(status);
    for (const secret of [stored.token, stored.refresh_token]) expect(text).not.toContain(secret);

    // The human status view, too.
    const human = await runCli(['status'], { env });
    expect(human.code).toBe(0);
    expect(human.stdout).toContain('alice@example.com');
    expect(human.stdout).toContain('engineers');
    expect(human.stdout).not.toContain(stored.token);
  }, 90_000);

  it('stops cleanly on Ctrl-C while waiting for the browser', async () => {
    await using stack = await startIdentityStack();
    const env = { GATECTL_HOME: tempHome(), GATECTL_NO_KEYRING: '1' };
    const child = spawnCli(['login', '--broker', stack.broker.url], { env });
    const done = collect(child, undefined, 30_000);
    await waitForStderr(child, /Open this URL/);
    child.kill('SIGINT');
    const r = await done;
    expect(r.code).toBe(130);
    expect(r.stderr).toMatch(/error: Interrupted \(SIGINT\)\n$/);
    expect(r.stderr).not.toMatch(/\s+at .*\.js:\d+/);
  }, 60_000);

  it('reports a sign-in aborted in the browser without a stack trace', async () => {
    await using stack = await startIdentityStack();
    const env = { GATECTL_HOME: tempHome(), GATECTL_NO_KEYRING: '1' };
    const child = spawnCli(['login', '--broker', stack.broker.url], { env });
    const done = collect(child, undefined, 60_000);
    const [, code, url] = await waitForStderr(
      child,
      /one-time code: ([A-Z0-9]{4}-[A-Z0-9]{4})\s+Open this URL to continue in your web browser: (\S+)/,
    );
    const browser = new TestBrowser();
    let page = await browser.get(url!);
    page = await browser.submit(page, { form: 'op.deviceInputForm', fill: { user_code: code! } });
    page = await browser.submit(page, { form: 'op.deviceConfirmForm', button: 'Abort' });
    expect(page.html).toContain('Sign-in aborted');
    const r = await done;
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('error: the sign-in was denied in the browser');
    expect(r.stderr).not.toMatch(/\s+at .*\.js:\d+/);
  }, 60_000);
});

function plain(r: { stdout: string; stderr: string }): string {
  return r.stdout + r.stderr;
}
