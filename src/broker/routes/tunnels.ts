import { z } from 'zod';
import { requireIdentity } from '../auth-guard.js';
import { HttpError } from '../http-error.js';
import { SessionEventWriter } from '../sessions/event-writer.js';
import { LiveConnections } from '../tunnels/live-connections.js';
import { closeTunnel, createTunnel, getTunnel } from '../tunnels/service.js';
import { attachTunnelEndpoint } from '../tunnels/ws-endpoint.js';
import type { BrokerRoutes } from './index.js';

/** How long shutdown keeps writing session events a failing store refuses. */
const SHUTDOWN_EVENTS_GRACE_MS = 5000;

const createBody = z.strictObject({ target: z.string().min(1) });

export const tunnelRoutes: BrokerRoutes = (app, ctx) => {
  const live = new LiveConnections(ctx);
  const events = new SessionEventWriter(ctx.store, ctx.log);
  live.start();
  const streams = attachTunnelEndpoint(app, ctx, { live, events });
  // Before the HTTP server stops waiting for its connections: end every session (FATAL to the
  // client, records closed), then drop what is left of the WebSockets.
  app.addHook('preClose', async () => {
    // A store that still refuses session events gets a few seconds, not a hung shutdown.
    events.stopRetrying(SHUTDOWN_EVENTS_GRACE_MS);
    await live.close();
    await events.flush();
    for (const stream of streams) stream.destroy();
  });

  app.post('/v1/tunnels', async (req, reply) => {
    const me = await requireIdentity(ctx, req);
    const parsed = createBody.safeParse(req.body ?? {});
    if (!parsed.success)
      throw new HttpError(
        400,
        'bad_request',
        parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
      );
    return reply.code(201).send(await createTunnel(ctx, me, parsed.data.target, req.ip));
  });

  // A plain GET (no `Upgrade: websocket`) reaches the router; the WebSocket itself is handled
  // on the server's 'upgrade' event.
  app.get('/v1/tunnels/:id/connect', async (_req, reply) => {
    return reply
      .code(426)
      .header('upgrade', 'websocket')
      .send({ error: { code: 'upgrade_required', message: 'connect with a WebSocket' } });
  });

  app.delete<{ Params: { id: string } }>('/v1/tunnels/:id', async (req, reply) => {
    const me = await requireIdentity(ctx, req);
    const tunnel = await getTunnel(ctx, req.params.id);
    if (!tunnel || tunnel.identity !== me.id)
      throw new HttpError(404, 'unknown_tunnel', `no tunnel with id ${req.params.id}`);
    await closeTunnel(ctx, tunnel.id, 'closed_by_client');
    live.endTunnel(tunnel.id, { code: 'tunnel_closed', message: 'the tunnel was closed by its owner' });
    return reply.code(204).send();
  });
};
