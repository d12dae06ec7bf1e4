import type { FastifyRequest } from 'fastify';
import { type BrokerTokenClaims, TokenError } from '../auth/broker-token.js';
import type { BrokerContext } from './context.js';
import { HttpError } from './http-error.js';

/** The caller's identity from `Authorization: Bearer <broker token>`; 401 with a short reason otherwise. */
export async function requireIdentity(ctx: BrokerContext, req: FastifyRequest): Promise<BrokerTokenClaims> {
  const header = req.headers.authorization;
  const m = header ? /^Bearer\s+(\S+)$/i.exec(header) : null;
  if (!m) throw new HttpError(401, 'unauthenticated', 'missing bearer token: run `gatectl login`');
  try {
    return await ctx.tokens.verify(m[1]!);
  } catch (err) {
    if (err instanceof TokenError) {
      await ctx.audit({
        type: 'auth.failure',
        outcome: 'failure',
        origin: req.ip,
        resource: req.url.split('?')[0] ?? null,
        data: { reason: err.code, credential: 'broker_token' },
      });
      throw new HttpError(401, err.code, err.message);
    }
    throw err;
  }
}
