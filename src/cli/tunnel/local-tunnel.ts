import { createServer, type Server, type Socket } from 'node:net';
import { CLIENT_ADDR_HEADER } from '../../broker/tunnels/tunnel.types.js';
import { adoptReusingReadBuffer, lendReads } from '../../lib/net/reused-read-buffer.js';
import type { WebSocketByteStream } from '../../lib/websocket/byte-stream.js';
import { openWebSocket, UpgradeRefusedError } from '../../lib/websocket/connect.js';
import { CloseCode } from '../../lib/websocket/frame.js';
import type { TokenSource } from '../broker-client.js';
import { CliError } from '../errors.js';

export interface LocalTunnelOptions {
  /** Broker base URL; with `https:` the WebSockets use TLS too. */
  brokerUrl: string;
  tunnelId: string;
  tokens: TokenSource | null;
  /** Local port; 0 (the default) takes a free one. */
  port?: number;
  /**
   * What to tell a local client whose connection cannot be carried (the broker refused it or
   * cannot be reached), in the client's own protocol, before the connection closes: a client
   * that is merely disconnected reports a crashed server. Without it the connection just closes.
   */
  failureReply?: (failure: ConnectionFailure) => Buffer;
}

/** Why a local connection could not be carried to the broker. */
export interface ConnectionFailure {
  /** `refused`: the broker answered no (grant ended, tunnel closed…); `unreachable`: no answer. */
  kind: 'refused' | 'unreachable';
  message: string;
}

/** How long a client told why its connection failed has to read that before the close. */
const FAILURE_LINGER_MS = 2000;

export interface TunnelStats {
  open: number;
  total: number;
  /** Bytes from local clients to the broker. */
  bytesUp: number;
  /** Bytes from the broker to local clients. */
  bytesDown: number;
}

export type TunnelEvent =
  | { kind: 'open'; id: number; from: string }
  | { kind: 'close'; id: number; bytesUp: number; bytesDown: number }
  /** The broker refused a connection: the grant ended, the tunnel was closed, the token expired… */
  | { kind: 'refused'; id: number; status: number; code: string; message: string }
  | { kind: 'error'; id: number; message: string };

/** Largest WebSocket frame accepted from the broker (it sends one frame per read of the database). */
const MAX_INBOUND_FRAME = 256 * 1024 * 1024;

/**
 * Bytes queued towards a peer before reading from the other side pauses. Above the sockets'
 * default 16 KiB so that one 64 KiB read does not pause and resume its source every time;
 * bounded so that a slow reader holds at most about this much (plus one chunk) per direction.
 */
const BUFFER_LIMIT = 256 * 1024;

/**
 * Relays a local TCP connection over its WebSocket, one binary frame per TCP read. Each side
 * pauses reading while more than BUFFER_LIMIT bytes wait to be written on the other. The
 * WebSocket ending (the broker ended the session) ends the local socket after everything
 * received was written; the local client closing closes the WebSocket.
 */
function wire(
  socket: Socket,
  ws: WebSocketByteStream,
  stats: TunnelStats,
  count: (up: number, down: number) => void,
): void {
  // Each side keeps what it reads only by writing it to the other, so both may lend their reads.
  lendReads(socket, ws.socket);
  lendReads(ws.socket, socket);
  let upWaiting = false;
  const resumeUp = (): void => {
    upWaiting = false;
    socket.resume();
  };
  socket.on('data', (d: Buffer) => {
    count(d.length, 0);
    stats.bytesUp += d.length;
    if (!ws.write(d) && !upWaiting && !ws.writableEnded) {
      upWaiting = true;
      socket.pause();
      ws.once('drain', resumeUp);
    }
  });
  socket.on('end', () => ws.close(CloseCode.normal));
  ws.on('data', (d: Buffer) => {
    count(0, d.length);
    stats.bytesDown += d.length;
    if (socket.destroyed || socket.writableEnded) return;
    socket.write(d);
    if (socket.writableLength > BUFFER_LIMIT && !ws.isPaused()) {
      ws.pause();
      socket.once('drain', () => ws.resume());
    }
  });
  ws.on('end', () => {
    if (socket.destroyed || socket.writableEnded) return;
    socket.end();
    const code = ws.peerCloseCode;
    // A close other than a normal one (or the connection simply dropping) cuts the client loose
    // even if it stopped reading.
    if (code !== CloseCode.normal && code !== CloseCode.noStatus)
      setTimeout(() => socket.destroy(), 1000).unref();
  });
  ws.on('error', () => socket.destroy());
  ws.on('close', () => {
    if (!socket.destroyed && !socket.writableEnded) socket.end();
  });
  socket.resume();
}

/** The broker's refusal of a connection: its JSON error, or the bare HTTP status. */
function refusalOf(err: UpgradeRefusedError): { code: string; message: string } {
  try {
    const parsed = JSON.parse(err.body) as { error?: { code?: string; message?: string } };
    if (parsed.error?.code && parsed.error.message)
      return { code: parsed.error.code, message: parsed.error.message };
  } catch {}
  return { code: `http_${err.status}`, message: `the broker refused the connection (HTTP ${err.status})` };
}

/**
 * A listener on 127.0.0.1 whose every accepted TCP connection travels in its own WebSocket to
 * the broker's tunnel endpoint. Both directions are piped, so a slow reader on either side
 * pauses the other (TCP ⇄ WebSocket backpressure).
 */
export class LocalTunnel {
  readonly #options: LocalTunnelOptions;
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  readonly #listeners = new Set<(e: TunnelEvent) => void>();
  readonly stats: TunnelStats = { open: 0, total: 0, bytesUp: 0, bytesDown: 0 };
  #closed = false;

  constructor(options: LocalTunnelOptions) {
    this.#options = options;
    // Every byte a client sends is read here: its socket moves to one that reads into a
    // reused buffer.
    this.#server = createServer({ noDelay: true }, (socket) => this.#accept(adoptReusingReadBuffer(socket)));
  }

  on(listener: (e: TunnelEvent) => void): void {
    this.#listeners.add(listener);
  }

  #emit(e: TunnelEvent): void {
    for (const l of this.#listeners) l(e);
  }

  /** Starts listening; resolves with the port. */
  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException) => {
        reject(
          new CliError(
            err.code === 'EADDRINUSE'
              ? `port ${this.#options.port} on 127.0.0.1 is already in use`
              : `cannot listen on 127.0.0.1: ${err.message}`,
            {
              code: 'listen_failed',
              hint: err.code === 'EADDRINUSE' ? 'Pick another --port, or omit it for a free one.' : undefined,
            },
          ),
        );
      };
      this.#server.once('error', onError);
      this.#server.listen(this.#options.port ?? 0, '127.0.0.1', () => {
        this.#server.off('error', onError);
        const addr = this.#server.address();
        resolve(typeof addr === 'object' && addr ? addr.port : 0);
      });
    });
  }

  #connectUrl(): URL {
    return new URL(
      `/v1/tunnels/${encodeURIComponent(this.#options.tunnelId)}/connect`,
      `${this.#options.brokerUrl}/`,
    );
  }

  #accept(socket: Socket): void {
    if (this.#closed) {
      socket.destroy();
      return;
    }
    const id = ++this.stats.total;
    this.stats.open++;
    this.#sockets.add(socket);
    // Nothing is read from the client until its WebSocket is open.
    socket.pause();
    const from = `${socket.remoteAddress}:${socket.remotePort}`;
    let up = 0;
    let down = 0;
    let ws: WebSocketByteStream | undefined;
    const connecting = new AbortController();
    socket.on('error', () => {});
    socket.once('close', () => {
      this.#sockets.delete(socket);
      this.stats.open--;
      connecting.abort(new Error('the local client closed the connection'));
      // Let a clean close flush; the stream cuts a connection the broker does not finish.
      ws?.close(CloseCode.normal);
      this.#emit({ kind: 'close', id, bytesUp: up, bytesDown: down });
    });
    this.#emit({ kind: 'open', id, from });

    void (async () => {
      const token = this.#options.tokens ? await this.#options.tokens.get() : null;
      if (socket.destroyed) return;
      const stream = await openWebSocket(this.#connectUrl(), {
        headers: {
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          [CLIENT_ADDR_HEADER]: from,
        },
        signal: connecting.signal,
        maxFramePayload: MAX_INBOUND_FRAME,
        writeLimit: BUFFER_LIMIT,
      });
      if (socket.destroyed) {
        stream.destroy();
        return;
      }
      ws = stream;
      wire(socket, stream, this.stats, (u, d) => {
        up += u;
        down += d;
      });
    })().catch((err: Error) => {
      if (socket.destroyed) return;
      let failure: ConnectionFailure;
      if (err instanceof UpgradeRefusedError) {
        const refusal = refusalOf(err);
        this.#emit({ kind: 'refused', id, status: err.status, ...refusal });
        failure = { kind: 'refused', message: refusal.message };
      } else {
        const message = `cannot reach the broker at ${this.#options.brokerUrl} (${err.message})`;
        this.#emit({ kind: 'error', id, message });
        failure = { kind: 'unreachable', message };
      }
      const reply = this.#options.failureReply;
      if (!reply) {
        socket.destroy();
        return;
      }
      // The reply, then the end of the stream; what the client sent meanwhile is read and
      // dropped, so closing does not reset the connection before it has read the reply.
      socket.end(reply(failure));
      socket.resume();
      setTimeout(() => socket.destroy(), FAILURE_LINGER_MS).unref();
    });
  }

  /** Stops listening and ends every connection. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
