import type { FastifyRequest } from 'fastify';
import { IdTokenError, IdTokenRefusal, IdTokenVerifier } from '../../auth/id-token-verifier.js';
import { requireIdentity } from '../auth-guard.js';
import type { BrokerContext } from '../context.js';
import { HttpError } from '../http-error.js';
import type { BrokerRoutes } from './index.js';

/** `GET /v1/auth/config`: what a CLI needs to run the device flow. Never any secret. */
export interface AuthConfigResponse {
  /** Null when the broker trusts machine issuers only (then only `--with-token` works). */
  issuer: string | null;
  client_id: string | null;
  scopes: string[];
}

export interface AuthIdentity {
  id: string;
  kind: 'human' | 'machine';
  name: string | null;
  groups: string[];
}

/** `POST /v1/auth/token` → a broker session token for a verified ID token. */
export interface AuthTokenResponse {
  token: string;
  token_type: 'Bearer';
  /** RFC 3339. */
  expires_at: string;
  identity: AuthIdentity;
}

/** `GET /v1/auth/me`. */
export interface AuthMeResponse {
  identity: AuthIdentity;
  expires_at: string;
  issued_at: string;
}

export const authRoutes: BrokerRoutes = (app, ctx) => {
  const verifier = new IdTokenVerifier(ctx.config.auth);

  app.get('/v1/auth/config', async (): Promise<AuthConfigResponse> => {
    const o = ctx.config.auth.oidc;
    return { issuer: o?.issuer ?? null, client_id: o?.client_id ?? null, scopes: o?.scopes ?? [] };
  });

  app.post('/v1/auth/token', async (req): Promise<AuthTokenResponse> => {
    const body = req.body as { id_token?: unknown } | undefined;
    const idToken = body?.id_token;
    if (typeof idToken !== 'string' || idToken === '')
      throw new HttpError(400, 'bad_request', 'expected a JSON body { "id_token": "…" }');
    let identity: Awaited<ReturnType<IdTokenVerifier['verify']>>;
    try {
      identity = await verifier.verify(idToken);
    } catch (err) {
      if (!(err instanceof IdTokenError)) throw err;
      if (err.code === IdTokenRefusal.issuerUnavailable) req.log.warn({ err: err.cause ?? err }, err.message);
      await auditFailure(ctx, req, err.code, err.issuer);
      const status = err.code === IdTokenRefusal.issuerUnavailable ? 503 : 401;
      throw new HttpError(status, err.code, err.message);
    }
    const now = ctx.now();
    await upsertIdentity(ctx, identity, now);
    const issued = await ctx.tokens.issue(
      {
        id: identity.id,
        kind: identity.kind,
        groups: identity.groups,
        ...(identity.name ? { name: identity.name } : {}),
      },
      ctx.config.auth.session.ttl,
    );
    await ctx.audit({
      type: 'auth.login',
      actor: identity.id,
      outcome: 'success',
      origin: req.ip,
      resource: '/v1/auth/token',
      data: {
        kind: identity.kind,
        issuer: identity.issuer,
        subject: identity.subject,
        groups: identity.groups,
        jti: issued.jti,
        expires_at: issued.expiresAt.toISOString(),
      },
    });
    return {
      token: issued.token,
      token_type: 'Bearer',
      expires_at: issued.expiresAt.toISOString(),
      identity: {
        id: identity.id,
        kind: identity.kind,
        name: identity.name ?? null,
        groups: identity.groups,
      },
    };
  });

  app.post('/v1/auth/logout', async (req, reply) => {
    const me = await requireIdentity(ctx, req);
    await ctx.tokens.revoke(me);
    await ctx.audit({
      type: 'auth.logout',
      actor: me.id,
      outcome: 'success',
      origin: req.ip,
      resource: '/v1/auth/logout',
      data: { jti: me.jti },
    });
    return reply.code(204).send();
  });

  app.get('/v1/auth/me', async (req): Promise<AuthMeResponse> => {
    const me = await requireIdentity(ctx, req);
    return {
      identity: { id: me.id, kind: me.kind, name: me.name ?? null, groups: me.groups },
      expires_at: new Date(me.exp * 1000).toISOString(),
      issued_at: new Date(me.iat * 1000).toISOString(),
    };
  });
};

/** PCI DSS 10.2.1.4: every invalid logical access attempt is recorded, with its reason. */
async function auditFailure(
  ctx: BrokerContext,
  req: FastifyRequest,
  reason: string,
  issuer: string | undefined,
): Promise<void> {
  await ctx.audit({
    type: 'auth.failure',
    outcome: 'failure',
    origin: req.ip,
    resource: '/v1/auth/token',
    data: { reason, credential: 'id_token', ...(issuer ? { issuer } : {}) },
  });
}

async function upsertIdentity(
  ctx: BrokerContext,
  identity: { id: string; kind: 'human' | 'machine'; name?: string; groups: string[]; issuer: string },
  now: number,
): Promise<void> {
  await ctx.store.db
    .insertInto('identities')
    .values({
      id: identity.id,
      kind: identity.kind,
      display_name: identity.name ?? null,
      groups: JSON.stringify(identity.groups),
      issuer: identity.issuer,
      first_seen_at: now,
      last_seen_at: now,
    })
    .onConflict((oc) =>
      oc.column('id').doUpdateSet({
        kind: identity.kind,
        display_name: identity.name ?? null,
        groups: JSON.stringify(identity.groups),
        issuer: identity.issuer,
        last_seen_at: now,
      }),
    )
    .execute();
}
