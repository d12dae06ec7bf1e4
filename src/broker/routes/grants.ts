import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { changeHub, waitForChange } from '../approvals/change-hub.js';
import { requireIdentity } from '../auth-guard.js';
import { decideGrant, revokeGrant, visibleGrant, withdrawGrant } from '../grants/decisions.js';
import { GRANT_CHANNEL, GrantState, type GrantView } from '../grants/grant.types.js';
import { GrantScope, listEtag, listGrants, parseStates } from '../grants/list.js';
import { getActiveGrant, getGrant, grantView, requestGrant } from '../grants/service.js';
import { HttpError } from '../http-error.js';
import type { BrokerRoutes } from './index.js';

const requestBody = z.strictObject({
  target: z.string().min(1),
  reason: z.string().max(2000).nullish(),
  duration_ms: z.number().int().positive().nullish(),
});
const approveBody = z.strictObject({ comment: z.string().max(2000).nullish() });
const denyBody = z.strictObject({ reason: z.string().max(2000).nullish() });
const revokeBody = z.strictObject({ reason: z.string().max(2000).nullish() });

/** Long-polls are capped so proxies and clients never hold a request longer than this. */
export const MAX_WAIT_MS = 60_000;

function parse<T>(schema: z.ZodType<T>, body: unknown): T {
  const parsed = schema.safeParse(body ?? {});
  if (!parsed.success)
    throw new HttpError(
      400,
      'bad_request',
      parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '),
    );
  return parsed.data;
}

function waitMs(text: string | undefined, fallback: number): number {
  if (text === undefined || text === '') return fallback;
  const n = Number(text);
  if (!Number.isFinite(n) || n < 0)
    throw new HttpError(400, 'bad_request', 'timeout_ms must be a number ≥ 0');
  return Math.min(n, MAX_WAIT_MS);
}

export const grantRoutes: BrokerRoutes = (app, ctx) => {
  const hub = changeHub(ctx, GRANT_CHANNEL);
  // Long-polls end when the broker shuts down, so closing never waits a minute for them.
  const closing = new AbortController();
  app.addHook('preClose', (done) => {
    closing.abort();
    done();
  });
  /** Aborted when the broker closes or the client goes away. */
  const requestSignal = (req: FastifyRequest, reply: FastifyReply): AbortSignal => {
    const gone = new AbortController();
    reply.raw.on('close', () => gone.abort());
    req.raw.on('aborted', () => gone.abort());
    return AbortSignal.any([closing.signal, gone.signal]);
  };

  app.post('/v1/grants', async (req, reply) => {
    const me = await requireIdentity(ctx, req);
    const body = parse(requestBody, req.body);
    const row = await requestGrant(
      ctx,
      me,
      { target: body.target, reason: body.reason, durationMs: body.duration_ms },
      req.ip,
    );
    return reply.code(201).send({ grant: await grantView(ctx, row, me) });
  });

  app.get<{ Querystring: { scope?: string; state?: string; etag?: string; timeout_ms?: string } }>(
    '/v1/grants',
    async (req, reply) => {
      const me = await requireIdentity(ctx, req);
      const scope = req.query.scope ?? 'mine';
      if (!(scope in GrantScope))
        throw new HttpError(400, 'bad_request', `scope must be one of ${Object.keys(GrantScope).join(', ')}`);
      const states = parseStates(req.query.state);
      if (typeof states === 'string') throw new HttpError(400, 'bad_request', states);
      const load = async () => {
        const grants = await listGrants(ctx, me, { scope: scope as GrantScope, states });
        return { grants, etag: listEtag(grants) };
      };
      // With `etag`, answer as soon as the list differs from the one the client holds.
      if (req.query.etag) {
        const known = req.query.etag;
        return waitForChange(hub, '*', load, (v) => v.etag !== known, {
          timeoutMs: waitMs(req.query.timeout_ms, 30_000),
          signal: requestSignal(req, reply),
        });
      }
      return load();
    },
  );

  app.get<{ Querystring: { target?: string } }>('/v1/grants/active', async (req) => {
    const me = await requireIdentity(ctx, req);
    if (!req.query.target) throw new HttpError(400, 'bad_request', 'target is required');
    const row = await getActiveGrant(ctx, me.id, req.query.target);
    return { grant: row ? await grantView(ctx, row, me) : null };
  });

  app.get<{ Params: { id: string } }>('/v1/grants/:id', async (req) => {
    const me = await requireIdentity(ctx, req);
    const row = await visibleGrant(ctx, req.params.id, me);
    return { grant: await grantView(ctx, row, me) };
  });

  /**
   * Long-polls one grant: answers as soon as its state is no longer `while` (default `pending`,
   * what a requester waits on), or at the timeout with the state unchanged. `while=approved` is
   * how a running tunnel (`gatectl connect`) learns at once that its grant was revoked or ended.
   */
  app.get<{ Params: { id: string }; Querystring: { timeout_ms?: string; while?: string } }>(
    '/v1/grants/:id/wait',
    async (req, reply) => {
      const me = await requireIdentity(ctx, req);
      const id = req.params.id;
      const whileState = req.query.while ?? 'pending';
      if (!(whileState in GrantState))
        throw new HttpError(400, 'bad_request', `while must be one of ${Object.keys(GrantState).join(', ')}`);
      await visibleGrant(ctx, id, me);
      const grant = await waitForChange<GrantView>(
        hub,
        id,
        async () => grantView(ctx, await getGrant(ctx, id), me),
        (g) => g.state !== whileState,
        { timeoutMs: waitMs(req.query.timeout_ms, 30_000), signal: requestSignal(req, reply) },
      );
      return { grant };
    },
  );

  app.post<{ Params: { id: string } }>('/v1/grants/:id/approve', async (req) => {
    const me = await requireIdentity(ctx, req);
    const body = parse(approveBody, req.body);
    const row = await decideGrant(ctx, me, req.params.id, 'approve', body.comment ?? null, req.ip);
    return { grant: await grantView(ctx, row, me) };
  });

  app.post<{ Params: { id: string } }>('/v1/grants/:id/deny', async (req) => {
    const me = await requireIdentity(ctx, req);
    const body = parse(denyBody, req.body);
    const row = await decideGrant(ctx, me, req.params.id, 'deny', body.reason ?? null, req.ip);
    return { grant: await grantView(ctx, row, me) };
  });

  app.post<{ Params: { id: string } }>('/v1/grants/:id/revoke', async (req) => {
    const me = await requireIdentity(ctx, req);
    const body = parse(revokeBody, req.body);
    const row = await revokeGrant(ctx, me, req.params.id, body.reason ?? null, req.ip);
    return { grant: await grantView(ctx, row, me) };
  });

  app.post<{ Params: { id: string } }>('/v1/grants/:id/withdraw', async (req) => {
    const me = await requireIdentity(ctx, req);
    const row = await withdrawGrant(ctx, me, req.params.id, req.ip);
    return { grant: await grantView(ctx, row, me) };
  });
};
