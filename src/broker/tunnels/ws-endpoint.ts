import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { adoptReusingReadBuffer } from '../../lib/net/reused-read-buffer.js';
import { KEEPALIVE_MS, WebSocketByteStream } from '../../lib/websocket/byte-stream.js';
import { CloseCode } from '../../lib/websocket/frame.js';
import { serverHandshake } from '../../lib/websocket/handshake.js';
import { requireIdentity } from '../auth-guard.js';
import type { PostgresTargetConfig } from '../config/schema.js';
import type { BrokerContext } from '../context.js';
import { findTarget, getGrant } from '../grants/service.js';
import { HttpError } from '../http-error.js';
import type { SessionEventWriter } from '../sessions/event-writer.js';
import { SessionRecorder } from '../sessions/recorder.js';
import type { EndReason, LiveConnections } from './live-connections.js';
import { postgresEngine } from './postgres-engine.js';
import { getTunnel, grantEndedReason, type TunnelRow } from './service.js';
import { CLIENT_ADDR_HEADER } from './tunnel.types.js';

const CONNECT_PATH = /^\/v1\/tunnels\/([A-Za-z0-9_-]{1,64})\/connect$/;

/**
 * Largest WebSocket frame accepted from the CLI (a larger one closes the connection with 1009).
 * The CLI sends what it read from one local TCP socket at a time (≤ 64 KiB); protocol messages
 * larger than this span several frames and are capped by the engine's own `max_message_size`.
 */
export const TUNNEL_MAX_PAYLOAD = 1024 * 1024;

/**
 * Bytes the broker queues towards one CLI before the relay stops reading from the database.
 * Above the sockets' default 16 KiB so that relaying one 64 KiB read does not pause and resume
 * its source every time; bounded so a slow client costs at most about this plus one chunk.
 */
export const TUNNEL_WRITE_LIMIT = 256 * 1024;

/** The WebSockets being served, to cut at shutdown. */
export type TunnelStreams = Set<WebSocketByteStream>;

export interface TunnelEndpointDeps {
  live: LiveConnections;
  events: SessionEventWriter;
}

/**
 * `GET /v1/tunnels/:id/connect` as a WebSocket upgrade: one WebSocket per client TCP connection,
 * authenticated with the owner's bearer token while the grant is active, served by the engine.
 * After the RFC 6455 handshake the WebSocket is a byte stream (WebSocketByteStream): frames
 * carry the PostgreSQL bytes, and a frame's payload goes to the engine as it arrives.
 */
export function attachTunnelEndpoint(
  app: FastifyInstance,
  ctx: BrokerContext,
  deps: TunnelEndpointDeps,
): TunnelStreams {
  const streams: TunnelStreams = new Set();
  app.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = (req.url ?? '').split('?')[0] ?? '';
    const m = CONNECT_PATH.exec(path);
    if (!m) {
      if (path.startsWith('/v1/tunnels/') || app.server.listenerCount('upgrade') === 1)
        reject(socket, new HttpError(404, 'not_found', `no such endpoint: GET ${path}`));
      return;
    }
    socket.on('error', () => {});
    const handshake = serverHandshake(req.method, req.headers);
    if ('refusal' in handshake) {
      const { status, message, headers } = handshake.refusal;
      reject(socket, new HttpError(status, 'bad_upgrade', message), headers);
      return;
    }
    const localAddr = headerValue(req.headers[CLIENT_ADDR_HEADER]);
    void authorize(ctx, req, socket, m[1]!).then(
      (ok) => {
        if (ok && !socket.destroyed)
          open(ctx, deps, streams, socket as Socket, head, handshake.response, localAddr, ok);
      },
      (err) => {
        if (err instanceof HttpError) reject(socket, err);
        else {
          ctx.log.error({ err }, 'tunnel upgrade failed');
          reject(socket, new HttpError(500, 'internal', 'internal error (see the broker log)'));
        }
      },
    );
  });
  return streams;
}

/**
 * The accepted upgrade as a tunnel stream, served until it closes. Kept apart from the upgrade
 * listener so that nothing a session keeps for its lifetime (the stream's listeners, the
 * engine's promises) holds on to the HTTP request, its headers or the socket it came in on.
 */
function open(
  ctx: BrokerContext,
  deps: TunnelEndpointDeps,
  streams: TunnelStreams,
  socket: Socket,
  head: Buffer,
  response: string,
  localAddr: string | null,
  auth: Authorized,
): void {
  // Every byte of the session is read here: a plaintext socket moves to one that reads into a
  // reused buffer (before anything is written on it, so nothing is left behind).
  const tcp = adoptReusingReadBuffer(socket);
  tcp.on('error', () => {});
  tcp.write(response);
  tcp.setNoDelay(true);
  tcp.setKeepAlive(true, KEEPALIVE_MS);
  // Whatever timeout the HTTP server set for requests does not apply to a tunnel.
  tcp.setTimeout(0);
  const stream = new WebSocketByteStream(tcp, {
    role: 'server',
    head,
    maxFramePayload: TUNNEL_MAX_PAYLOAD,
    writeLimit: TUNNEL_WRITE_LIMIT,
  });
  streams.add(stream);
  stream.once('close', () => streams.delete(stream));
  serve(ctx, deps, stream, localAddr, auth).catch((err) =>
    ctx.log.error({ err }, 'tunnel connection failed'),
  );
}

interface Authorized {
  tunnel: TunnelRow;
  identity: string;
  endsAt: number;
}

async function authorize(
  ctx: BrokerContext,
  req: IncomingMessage,
  socket: Duplex,
  tunnelId: string,
): Promise<Authorized | null> {
  const origin = req.socket.remoteAddress ?? '';
  const me = await requireIdentity(ctx, {
    headers: req.headers,
    ip: origin,
    url: req.url ?? '',
  } as unknown as FastifyRequest);
  const tunnel = await getTunnel(ctx, tunnelId);
  // Another identity's tunnel is reported as missing, so ids cannot be probed.
  if (!tunnel || tunnel.identity !== me.id)
    throw new HttpError(404, 'unknown_tunnel', `no tunnel with id ${tunnelId}`);
  if (tunnel.closed_at !== null)
    throw new HttpError(410, 'tunnel_closed', 'this tunnel is closed: open a new one');
  const grant = await getGrant(ctx, tunnel.grant_id).catch(() => undefined);
  const ended = grantEndedReason(grant, ctx.now());
  if (ended) throw new HttpError(403, ended.code, ended.message);
  if (socket.destroyed) return null;
  return { tunnel, identity: me.id, endsAt: grant!.ends_at! };
}

async function serve(
  ctx: BrokerContext,
  deps: TunnelEndpointDeps,
  stream: WebSocketByteStream,
  localAddr: string | null,
  auth: Authorized,
): Promise<void> {
  const { tunnel } = auth;
  const target = findTarget(ctx, tunnel.target) as PostgresTargetConfig;
  const log = ctx.log.child({ tunnel_id: tunnel.id, target: target.name });
  const recorder = new SessionRecorder(ctx, deps.events, {
    identity: auth.identity,
    target: target.name,
    grantId: tunnel.grant_id,
    tunnelId: tunnel.id,
    origin: stream.socket.remoteAddress ?? null,
    localAddr,
  });
  const controller = new AbortController();
  stream.on('error', (err) => log.debug({ err }, 'tunnel stream error'));

  let resolveDone!: () => void;
  const done = new Promise<void>((r) => {
    resolveDone = r;
  });
  const forget = deps.live.add(
    {
      tunnelId: tunnel.id,
      grantId: tunnel.grant_id,
      end: (reason: EndReason) => {
        if (controller.signal.aborted) return;
        recorder.setEndReason(reason.code);
        controller.abort(reason.message);
      },
      done,
    },
    auth.endsAt,
  );
  try {
    const engine = await postgresEngine();
    await engine.servePostgresClient(stream, {
      target,
      upstreamPassword: target.credentials.password
        ? ctx.loaded.secret(target.credentials.password)
        : undefined,
      clientVerifier: tunnel.secret_verifier,
      clientAddr: localAddr ?? undefined,
      hooks: recorder.hooks,
      log,
      signal: controller.signal,
    });
  } catch (err) {
    log.error({ err }, 'postgres session failed');
    recorder.setEndReason('broker_error');
  } finally {
    forget();
    // The engine reports the end (with exact byte counts) itself; this covers an engine that
    // failed before it could, with what the WebSocket saw coming in.
    await recorder
      .end({ reason: 'closed', bytesIn: stream.bytesRead, bytesOut: 0 })
      .catch((err) => log.error({ err }, 'cannot record the session end'));
    // The engine has ended the client (a FATAL, or the reply to its Terminate): close the
    // WebSocket and cut it if the CLI does not finish the close promptly.
    stream.close(CloseCode.normal);
    setTimeout(() => stream.destroy(), 2000).unref();
    resolveDone();
  }
}

function headerValue(v: string | string[] | undefined): string | null {
  const s = Array.isArray(v) ? v[0] : v;
  return s ? s.slice(0, 200) : null;
}

/** Answers a refused upgrade with a plain HTTP error in the API's JSON shape. */
function reject(socket: Duplex, err: HttpError, headers: Record<string, string> = {}): void {
  if (socket.destroyed) return;
  const body = JSON.stringify({ error: { code: err.code, message: err.message } });
  const reasons: Record<number, string> = {
    400: 'Bad Request',
    401: 'Unauthorized',
    403: 'Forbidden',
    404: 'Not Found',
    410: 'Gone',
    426: 'Upgrade Required',
    500: 'Internal Server Error',
  };
  socket.end(
    `HTTP/1.1 ${err.status} ${reasons[err.status] ?? 'Error'}\r\n` +
      'Content-Type: application/json\r\n' +
      Object.entries(headers)
        .map(([k, v]) => `${k}: ${v}\r\n`)
        .join('') +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      'Connection: close\r\n\r\n' +
      body,
  );
}
