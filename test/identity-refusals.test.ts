import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { base64url, importJWK, type JWK, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevCiIssuer } from '../src/auth/dev/dev-ci-issuer.js';
import { startTestBroker } from './support/broker.js';
import { type IdentityStack, startIdentityStack } from './support/identity-stack.js';

let stack: IdentityStack;
beforeAll(async () => {
  stack = await startIdentityStack();
});
afterAll(async () => {
  await stack?.close();
});

interface ApiBody {
  token?: string;
  identity?: Record<string, unknown>;
  error?: { code: string; message: string };
}

const now = () => Math.floor(Date.now() / 1000);

async function exchange(idToken: string): Promise<{ status: number; body: ApiBody }> {
  const res = await fetch(`${stack.broker.url}/v1/auth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ id_token: idToken }),
  });
  return { status: res.status, body: (await res.json()) as ApiBody };
}

async function lastAuditEvent() {
  const row = await stack.broker.broker.ctx.store.db
    .selectFrom('audit_events')
    .selectAll()
    .orderBy('seq', 'desc')
    .limit(1)
    .executeTakeFirstOrThrow();
  return { ...row, data: JSON.parse(row.data) as Record<string, unknown> };
}

/** Asserts a 401 with `reason` and an `auth.failure` audit event naming it, and no token in either. */
async function expectRefused(idToken: string, reason: string) {
  const before = await lastAuditEvent().catch(() => ({ seq: 0 }));
  const r = await exchange(idToken);
  expect(r.status).toBe(401);
  expect(r.body.error?.code).toBe(reason);
  expect(r.body.token).toBeUndefined();
  const event = await lastAuditEvent();
  expect(event.seq).toBe(before.seq + 1);
  expect(event).toMatchObject({ type: 'auth.failure', outcome: 'failure', resource: '/v1/auth/token' });
  expect(event.data).toMatchObject({ reason, credential: 'id_token' });
  expect(JSON.stringify(event) + JSON.stringify(r.body)).not.toContain(idToken);
  return event;
}

describe('ID token refusals at POST /v1/auth/token', () => {
  it('accepts a valid token (baseline) and records auth.login', async () => {
    const r = await exchange(await stack.ci.sign({ repository: 'acme/payments' }));
    expect(r.status).toBe(200);
    expect(r.body.identity).toMatchObject({ id: 'ci:acme/payments', kind: 'machine' });
    const event = await lastAuditEvent();
    expect(event).toMatchObject({ type: 'auth.login', outcome: 'success', actor: 'ci:acme/payments' });
    expect(JSON.stringify(event)).not.toContain(r.body.token);
  });

  it('refuses an expired token', async () => {
    await expectRefused(
      await stack.ci.sign({ iat: now() - 7200, nbf: now() - 7200, exp: now() - 3600 }),
      'token_expired',
    );
  });

  it('refuses a token that is not yet valid', async () => {
    await expectRefused(await stack.ci.sign({ nbf: now() + 3600, exp: now() + 7200 }), 'token_not_yet_valid');
  });

  it('refuses a token from an issuer the broker does not trust', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gatectl-other-issuer-'));
    const other = await startDevCiIssuer({ dataDir: dir, port: 0 });
    try {
      const event = await expectRefused(await other.sign(), 'wrong_issuer');
      expect(event.data.issuer).toBe(other.issuer);
    } finally {
      await other.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a token with a forged issuer, even when signed with a trusted key', async () => {
    await expectRefused(
      await stack.ci.sign({ iss: 'https://token.actions.githubusercontent.com' }),
      'wrong_issuer',
    );
  });

  it('refuses a token for another audience', async () => {
    await expectRefused(await stack.ci.sign({ aud: 'https://github.com/acme' }), 'wrong_audience');
  });

  it('refuses a token whose signature does not match (tampered payload)', async () => {
    const [h, p, s] = (await stack.ci.sign({ repository: 'acme/payments' })).split('.');
    const claims = JSON.parse(new TextDecoder().decode(base64url.decode(p!)));
    claims.repository = 'acme/admin';
    const tampered = `${h}.${base64url.encode(JSON.stringify(claims))}.${s}`;
    await expectRefused(tampered, 'bad_signature');
  });

  it('refuses a token signed by another key under the issuer’s kid', async () => {
    const jwks = (await (await fetch(`${stack.ci.issuer}/.well-known/jwks`)).json()) as {
      keys: Array<{ kid: string }>;
    };
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const forged = await new SignJWT({ repository: 'acme/payments' })
      .setProtectedHeader({ alg: 'RS256', kid: jwks.keys[0]!.kid })
      .setIssuer(stack.ci.issuer)
      .setAudience(stack.ci.audience)
      .setSubject('repo:acme/payments:ref:refs/heads/main')
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(privateKey);
    await expectRefused(forged, 'bad_signature');
  });

  it('refuses alg: none', async () => {
    const header = base64url.encode(JSON.stringify({ alg: 'none', typ: 'JWT' }));
    const payload = base64url.encode(
      JSON.stringify({
        iss: stack.ci.issuer,
        aud: stack.ci.audience,
        sub: 'repo:acme/payments:ref:refs/heads/main',
        repository: 'acme/payments',
        iat: now(),
        exp: now() + 300,
      }),
    );
    await expectRefused(`${header}.${payload}.`, 'alg_not_allowed');
  });

  it('refuses HS256 signed with the issuer’s public key', async () => {
    const jwks = (await (await fetch(`${stack.ci.issuer}/.well-known/jwks`)).json()) as {
      keys: Array<Record<string, string>>;
    };
    const jwk = jwks.keys[0]!;
    const publicPem = createPublicKey({ key: jwk, format: 'jwk' }).export({ type: 'spki', format: 'pem' });
    const forged = await new SignJWT({ repository: 'acme/payments' })
      .setProtectedHeader({ alg: 'HS256', kid: jwk.kid! })
      .setIssuer(stack.ci.issuer)
      .setAudience(stack.ci.audience)
      .setSubject('repo:acme/payments:ref:refs/heads/main')
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode(String(publicPem)));
    await expectRefused(forged, 'alg_not_allowed');
  });

  it('refuses a session token of another broker, as an ID token and as a bearer token', async () => {
    await using other = await startTestBroker({});
    const foreign = await other.token({ id: 'mallory@example.com', groups: ['dba-oncall'] });
    const event = await expectRefused(foreign, 'wrong_issuer');
    expect(event.data.issuer).toMatch(/^urn:gatectl:broker:/);

    const res = await fetch(`${stack.broker.url}/v1/auth/me`, {
      headers: { authorization: `Bearer ${foreign}` },
    });
    expect(res.status).toBe(401);
    expect(((await res.json()) as ApiBody).error!.code).toBe('token_invalid');
    const bearerEvent = await lastAuditEvent();
    expect(bearerEvent).toMatchObject({ type: 'auth.failure', outcome: 'failure', resource: '/v1/auth/me' });
    expect(bearerEvent.data).toMatchObject({ reason: 'token_invalid', credential: 'broker_token' });
  });

  it('refuses a revoked session token (jti revoked by logout)', async () => {
    const login = await exchange(await stack.ci.sign({ repository: 'acme/payments' }));
    const token = login.body.token as string;
    const auth = { authorization: `Bearer ${token}` };
    expect((await fetch(`${stack.broker.url}/v1/auth/me`, { headers: auth })).status).toBe(200);
    const out = await fetch(`${stack.broker.url}/v1/auth/logout`, { method: 'POST', headers: auth });
    expect(out.status).toBe(204);
    const logoutEvent = await lastAuditEvent();
    expect(logoutEvent).toMatchObject({ type: 'auth.logout', actor: 'ci:acme/payments' });

    const res = await fetch(`${stack.broker.url}/v1/auth/me`, { headers: auth });
    expect(res.status).toBe(401);
    expect(((await res.json()) as ApiBody).error!.code).toBe('token_revoked');
    const event = await lastAuditEvent();
    expect(event).toMatchObject({ type: 'auth.failure', outcome: 'failure', resource: '/v1/auth/me' });
    expect(event.data).toMatchObject({ reason: 'token_revoked', credential: 'broker_token' });
    expect(JSON.stringify(event)).not.toContain(token);
  });

  it('refuses a token that is not a JWT at all', async () => {
    await expectRefused('not-a-jwt', 'malformed_token');
  });
});

describe('ID tokens of the human IdP', () => {
  /** Signs with the dev IdP's own key (kept in its data dir), to vary claims the IdP would not. */
  async function idpToken(claims: Record<string, unknown>, aud = 'gatectl-cli') {
    const state = JSON.parse(readFileSync(join(stack.dataDir, 'idp.json'), 'utf8')) as {
      jwks: { keys: JWK[] };
    };
    const key = state.jwks.keys[0]!;
    return new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', kid: key.kid! })
      .setIssuer(stack.idp.issuer)
      .setAudience(aud)
      .setSubject(String(claims.sub ?? 'alice'))
      .setIssuedAt()
      .setExpirationTime(typeof claims.exp === 'number' ? claims.exp : now() + 300)
      .sign(await importJWK(key, 'RS256'));
  }

  it('maps identity_claim and groups_claim for a valid token', async () => {
    const r = await exchange(
      await idpToken({ email: 'alice@example.com', name: 'Alice', groups: ['engineers'] }),
    );
    expect(r.status).toBe(200);
    expect(r.body.identity).toEqual({
      id: 'alice@example.com',
      kind: 'human',
      name: 'Alice',
      groups: ['engineers'],
    });
  });

  it('refuses another audience, an expired token, and a token without the identity claim', async () => {
    await expectRefused(
      await idpToken({ email: 'alice@example.com' }, 'some-other-client'),
      'wrong_audience',
    );
    await expectRefused(await idpToken({ email: 'alice@example.com', exp: now() - 600 }), 'token_expired');
    await expectRefused(await idpToken({ groups: ['dba-oncall'] }), 'missing_claim');
  });
});

describe('GET /v1/auth/config', () => {
  it('advertises issuer, client id and scopes, and nothing secret', async () => {
    const res = await fetch(`${stack.broker.url}/v1/auth/config`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      issuer: stack.idp.issuer,
      client_id: 'gatectl-cli',
      scopes: ['openid', 'profile', 'email', 'groups', 'offline_access'],
    });
  });
});
