import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { importJWK, type JWK, type JWTPayload, SignJWT } from 'jose';
import {
  closeServer,
  listenLoopback,
  newSigningJwk,
  publicJwk,
  readDevJson,
  writeDevJson,
} from './dev-files.js';

/** Audience the dev broker expects in CI tokens (GitHub lets a workflow choose its own). */
export const DEV_CI_AUDIENCE = 'gatectl-dev';
/** Claim the dev issuer uses to carry `--group` values; trusted only by the dev broker's config. */
export const DEV_CI_GROUPS_CLAIM = 'gatectl_dev_groups';

export interface DevCiIssuerOptions {
  dataDir: string;
  /** Port on 127.0.0.1; by default the one used last time, else a free one. */
  port?: number;
}

export interface DevCiIssuer {
  issuer: string;
  url: string;
  audience: string;
  /** Signs a token with this issuer's key (claims override the GitHub-shaped defaults). */
  sign(claims?: CiTokenClaims, options?: { ttlSeconds?: number }): Promise<string>;
  close(): Promise<void>;
}

interface CiIssuerState {
  issuer?: string;
  port?: number;
  key: JWK;
}

const STATE_FILE = 'ci-issuer.json';

export type CiTokenClaims = JWTPayload & Record<string, unknown>;

/**
 * A local stand-in for GitHub Actions' OIDC issuer: discovery and JWKS over HTTP on loopback,
 * tokens with the same claims (`repository`, `ref`, `environment`, `sub` as
 * `repo:<owner>/<repo>:ref:<ref>`, …). Development and tests only.
 * @see https://docs.github.com/en/actions/security-for-github-actions/security-hardening-your-deployments/about-security-hardening-with-openid-connect
 */
export async function startDevCiIssuer(options: DevCiIssuerOptions): Promise<DevCiIssuer> {
  const { dataDir } = options;
  let state = readDevJson<CiIssuerState>(dataDir, STATE_FILE);
  if (!state?.key?.d) state = { key: await newSigningJwk('RS256') };
  const jwks = { keys: [publicJwk(state.key)] };
  let issuer = '';
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const json = (body: unknown): void => {
      res
        .writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=60' })
        .end(JSON.stringify(body));
    };
    if (req.method !== 'GET') {
      res.writeHead(405).end();
      return;
    }
    if (path === '/.well-known/openid-configuration') {
      json({
        issuer,
        jwks_uri: `${issuer}/.well-known/jwks`,
        subject_types_supported: ['public', 'pairwise'],
        response_types_supported: ['id_token'],
        claims_supported: [
          'sub',
          'aud',
          'exp',
          'iat',
          'iss',
          'jti',
          'nbf',
          'ref',
          'repository',
          'environment',
        ],
        id_token_signing_alg_values_supported: ['RS256'],
        scopes_supported: ['openid'],
      });
      return;
    }
    if (path === '/.well-known/jwks') {
      json(jwks);
      return;
    }
    res.writeHead(404).end();
  });
  const port = await listenLoopback(server, options.port ?? state.port);
  issuer = `http://127.0.0.1:${port}`;
  writeDevJson(dataDir, STATE_FILE, { ...state, issuer, port });
  const key = state.key;
  return {
    issuer,
    url: issuer,
    audience: DEV_CI_AUDIENCE,
    sign: (claims, signOptions) => signCiToken(key, issuer, claims, signOptions?.ttlSeconds),
    close: () => closeServer(server),
  };
}

/**
 * Signs a token from the dev CI issuer whose state is in `dataDir` (as `gatectl broker
 * dev-token` does), without the issuer running in this process.
 */
export async function signDevCiToken(
  dataDir: string,
  claims: CiTokenClaims = {},
  ttlSeconds?: number,
): Promise<{ token: string; issuer: string }> {
  const state = readDevJson<CiIssuerState>(dataDir, STATE_FILE);
  if (!state?.key?.d || !state.issuer) throw new Error(`no dev CI issuer in ${dataDir}`);
  return { token: await signCiToken(state.key, state.issuer, claims, ttlSeconds), issuer: state.issuer };
}

/** GitHub Actions' claim set for a push to main of `repository`. */
export function githubActionsClaims(repository: string, overrides: CiTokenClaims = {}): CiTokenClaims {
  const ref = typeof overrides.ref === 'string' ? overrides.ref : 'refs/heads/main';
  const owner = repository.includes('/') ? repository.split('/')[0]! : 'dev';
  return {
    sub: `repo:${repository}:ref:${ref}`,
    aud: DEV_CI_AUDIENCE,
    ref,
    ref_type: 'branch',
    sha: '0000000000000000000000000000000000000000',
    repository,
    repository_owner: owner,
    repository_visibility: 'private',
    repository_id: '1',
    repository_owner_id: '1',
    run_id: '1',
    run_number: '1',
    run_attempt: '1',
    actor: 'dev',
    actor_id: '1',
    workflow: 'dev',
    workflow_ref: `${repository}/.github/workflows/dev.yml@${ref}`,
    job_workflow_ref: `${repository}/.github/workflows/dev.yml@${ref}`,
    event_name: 'push',
    head_ref: '',
    base_ref: '',
    runner_environment: 'self-hosted',
    ...overrides,
  };
}

async function signCiToken(
  key: JWK,
  issuer: string,
  claims: CiTokenClaims = {},
  ttlSeconds = 600,
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const { iss, aud, iat, nbf, exp, jti, ...rest } = { ...githubActionsClaims('dev/ci-demo'), ...claims };
  return new SignJWT(rest)
    .setProtectedHeader({ alg: 'RS256', kid: key.kid!, typ: 'JWT' })
    .setIssuer(iss ?? issuer)
    .setAudience(aud ?? DEV_CI_AUDIENCE)
    .setIssuedAt(iat ?? now)
    .setNotBefore(nbf ?? now)
    .setExpirationTime(exp ?? now + ttlSeconds)
    .setJti(jti ?? randomUUID())
    .sign(await importJWK(key, 'RS256'));
}
