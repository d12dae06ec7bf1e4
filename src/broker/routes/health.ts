import { sql } from 'kysely';
import type { BrokerRoutes } from './index.js';

export const healthRoutes: BrokerRoutes = (app, ctx) => {
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    try {
      await sql`select 1`.execute(ctx.store.db);
      return { status: 'ready' };
    } catch {
      return reply
        .code(503)
        .send({ status: 'unavailable', error: { code: 'store_unavailable', message: 'store unreachable' } });
    }
  });
};
