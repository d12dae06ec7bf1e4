import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { devAuthConfig } from '../src/auth/dev/dev-auth-config.js';
import { startDevCiIssuer } from '../src/auth/dev/dev-ci-issuer.js';
import { startDevIdentity } from '../src/auth/dev/dev-identity.js';
import { startDevIdp } from '../src/auth/dev/dev-idp.js';
import { runCli } from './support/cli.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'gatectl-dev-'));
  dirs.push(d);
  return d;
};
/** GET JSON; retried once because fetch may reuse a keep-alive socket of the server closed before a restart. */
const jwks = async (issuer: string, path: string): Promise<unknown> => {
  const get = async () => (await fetch(`${issuer}${path}`)).json();
  return get().catch(get);
};

describe('dev identity services', () => {
  it('the dev IdP keeps its keys and port across restarts, in private files', async () => {
    const dataDir = tempDir();
    const first = await startDevIdp({ dataDir });
    const discovery = (await jwks(first.issuer, '/.well-known/openid-configuration')) as Record<
      string,
      unknown
    >;
    expect(discovery.device_authorization_endpoint).toBe(`${first.issuer}/device/auth`);
    expect(discovery.grant_types_supported).toContain('urn:ietf:params:oauth:grant-type:device_code');
    const keys = await jwks(first.issuer, '/jwks');
    await first.close();
    const second = await startDevIdp({ dataDir });
    try {
      expect(second.issuer).toBe(first.issuer);
      expect(await jwks(second.issuer, '/jwks')).toEqual(keys);
      expect(statSync(join(dataDir, 'idp.json')).mode & 0o777).toBe(0o600);
      const home = await (await fetch(second.issuer).catch(() => fetch(second.issuer))).text();
      expect(home).toContain('DEVELOPMENT IDENTITY PROVIDER');
    } finally {
      await second.close();
    }
  });

  it('the dev CI issuer serves discovery and JWKS, and dev-token signs with its key', async () => {
    const dataDir = tempDir();
    const ci = await startDevCiIssuer({ dataDir });
    try {
      const discovery = (await jwks(ci.issuer, '/.well-known/openid-configuration')) as Record<
        string,
        string
      >;
      expect(discovery.issuer).toBe(ci.issuer);
      expect(discovery.jwks_uri).toBe(`${ci.issuer}/.well-known/jwks`);
      const r = await runCli([
        'broker',
        'dev-token',
        '--identity',
        'ci-demo',
        '--group',
        'deployers',
        '--data-dir',
        dataDir,
      ]);
      expect(r.code).toBe(0);
      const payload = JSON.parse(Buffer.from(r.stdout.trim().split('.')[1]!, 'base64url').toString());
      expect(payload).toMatchObject({
        iss: ci.issuer,
        aud: 'gatectl-dev',
        repository: 'ci-demo',
        ref: 'refs/heads/main',
        sub: 'repo:ci-demo:ref:refs/heads/main',
        gatectl_dev_groups: ['deployers'],
      });
      expect(payload.exp - payload.iat).toBeLessThanOrEqual(600);
    } finally {
      await ci.close();
    }
  });

  it('dev-token explains what to do when the dev stack never ran', async () => {
    const r = await runCli(['broker', 'dev-token', '--data-dir', join(tempDir(), 'nothing')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('no dev CI issuer in');
    expect(r.stderr).toContain('gatectl broker dev');
  });

  it('devAuthConfig trusts both services', () => {
    const auth = devAuthConfig(
      { issuer: 'http://127.0.0.1:1', clientId: 'gatectl-cli', scopes: ['openid'] },
      { issuer: 'http://127.0.0.1:2', audience: 'gatectl-dev' },
    );
    expect(auth.oidc).toMatchObject({ issuer: 'http://127.0.0.1:1', client_id: 'gatectl-cli' });
    expect(auth.machine_issuers?.[0]).toMatchObject({
      issuer: 'http://127.0.0.1:2',
      identity: 'ci:{repository}',
    });
  });

  it('startDevIdentity starts both services and gives the auth block for the dev broker', async () => {
    const dev = await startDevIdentity({ dataDir: tempDir() });
    try {
      expect(dev.auth.oidc?.issuer).toBe(dev.idp.issuer);
      expect(dev.auth.machine_issuers?.[0]?.issuer).toBe(dev.ci.issuer);
      expect(((await jwks(dev.ci.issuer, '/.well-known/jwks')) as { keys: unknown[] }).keys).toHaveLength(1);
    } finally {
      await dev.close();
    }
  });
});
