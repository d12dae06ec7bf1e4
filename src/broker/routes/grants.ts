import { z } from 'zod';
import { requireIdentity } from '../auth-guard.js';
import { getActiveGrant, getGrant, grantView, requestGrant } from '../grants/service.js';
import { HttpError } from '../http-error.js';
import type { BrokerRoutes } from './index.js';

const requestBody = z.strictObject({
  target: z.string().min(1),
  reason: z.string().max(2000).nullish(),
  duration_ms: z.number().int().positive().nullish(),
});

export const grantRoutes: BrokerRoutes = (app, ctx) => {
  app.post('/v1/grants', async (req, reply) => {
    const me = await requireIdentity(ctx, req);
    const parsed = requestBody.safeParse(req.body ?? {});
    if (!parsed.success)
      throw new HttpError(
        400,
        'bad_request',
        parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
      );
    const row = await requestGrant(
      ctx,
      me,
      { target: parsed.data.target, reason: parsed.data.reason, durationMs: parsed.data.duration_ms },
      req.ip,
    );
    return reply.code(201).send({ grant: await grantView(ctx, row, me) });
  });

  app.get<{ Querystring: { target?: string } }>('/v1/grants/active', async (req) => {
    const me = await requireIdentity(ctx, req);
    if (!req.query.target) throw new HttpError(400, 'bad_request', 'target is required');
    const row = await getActiveGrant(ctx, me.id, req.query.target);
    return { grant: row ? await grantView(ctx, row, me) : null };
  });

  app.get<{ Params: { id: string } }>('/v1/grants/:id', async (req) => {
    const me = await requireIdentity(ctx, req);
    const row = await getGrant(ctx, req.params.id);
    return { grant: await grantView(ctx, row, me) };
  });
};
