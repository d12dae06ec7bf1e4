import { createServer, type Server, type Socket } from 'node:net';
import { CLIENT_ADDR_HEADER } from '../../broker/tunnels/tunnel.types.js';
import type { TokenSource } from '../broker-client.js';
import { CliError } from '../errors.js';

export interface LocalTunnelOptions {
  /** Broker base URL; `https:` becomes `wss:`. */
  brokerUrl: string;
  tunnelId: string;
  tokens: TokenSource | null;
  /** Local port; 0 (the default) takes a free one. */
  port?: number;
}

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

/** Largest WebSocket message accepted from the broker: one relayed protocol message can be large. */
const MAX_INBOUND_PAYLOAD = 256 * 1024 * 1024;

/**
 * Bytes queued towards a peer before reading from the other side pauses. Above the sockets'
 * default 16 KiB so that one 64 KiB read does not pause and resume its source every time;
 * bounded so that a slow reader holds at most about this much (plus one chunk) per direction.
 */
const BUFFER_LIMIT = 256 * 1024;

type WsModule = typeof import('ws');
type WebSocket = import('ws').WebSocket;

/**
 * RFC 6455 masking protects caching intermediaries from frames a hostile web page chose; this
 * client is no browser and relays what the user's own tools send, so it uses the all-zero mask
 * (still marked masked, as the RFC requires), which spares ws an XOR pass and a copy per frame.
 */
function zeroMask(mask: Buffer): void {
  mask.fill(0);
}

/**
 * Relays a local TCP connection over its WebSocket, one binary message per TCP read, without a
 * stream adapter in between. Each side pauses reading while more than BUFFER_LIMIT bytes wait to
 * be written on the other. The WebSocket closing (the broker ended the session) ends the local
 * socket after everything received was written; the local client closing closes the WebSocket.
 */
function wire(
  socket: Socket,
  ws: WebSocket,
  stats: TunnelStats,
  count: (up: number, down: number) => void,
): void {
  let upWaiting = false;
  const resumeUp = (): void => {
    upWaiting = false;
    socket.resume();
  };
  socket.on('data', (d: Buffer) => {
    count(d.length, 0);
    stats.bytesUp += d.length;
    if (ws.readyState !== ws.OPEN) return;
    // The callback of a send runs once its bytes are handed to the kernel, so when the one
    // that crossed the limit completes, everything before it has gone too.
    if (!upWaiting && ws.bufferedAmount + d.length > BUFFER_LIMIT) {
      upWaiting = true;
      socket.pause();
      ws.send(d, { binary: true }, resumeUp);
    } else {
      ws.send(d, { binary: true });
    }
  });
  socket.on('end', () => {
    if (ws.readyState === ws.OPEN) ws.close(1000);
  });
  ws.on('message', (d: Buffer) => {
    count(0, d.length);
    stats.bytesDown += d.length;
    if (socket.destroyed || socket.writableEnded) return;
    socket.write(d);
    if (socket.writableLength > BUFFER_LIMIT && !ws.isPaused) {
      ws.pause();
      socket.once('drain', () => ws.resume());
    }
  });
  ws.once('close', (code) => {
    if (!socket.destroyed && !socket.writableEnded) socket.end();
    if (code !== 1000 && code !== 1005) setTimeout(() => socket.destroy(), 1000).unref();
  });
  socket.resume();
}
let wsModule: Promise<WsModule> | undefined;

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
    this.#server = createServer({ noDelay: true }, (socket) => this.#accept(socket));
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

  #wsUrl(): string {
    const u = new URL(
      `/v1/tunnels/${encodeURIComponent(this.#options.tunnelId)}/connect`,
      `${this.#options.brokerUrl}/`,
    );
    u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
    return u.toString();
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
    let ws: import('ws').WebSocket | undefined;
    socket.on('error', () => {});
    socket.once('close', () => {
      this.#sockets.delete(socket);
      this.stats.open--;
      if (ws && ws.readyState !== ws.CLOSED) {
        // Let a clean close flush; cut a connection the broker does not finish promptly.
        if (ws.readyState === ws.OPEN) ws.close(1000);
        setTimeout(() => ws?.terminate(), 2000).unref();
      }
      this.#emit({ kind: 'close', id, bytesUp: up, bytesDown: down });
    });
    this.#emit({ kind: 'open', id, from });

    void (async () => {
      const token = this.#options.tokens ? await this.#options.tokens.get() : null;
      wsModule ??= import('ws');
      const { WebSocket } = await wsModule;
      if (socket.destroyed) return;
      ws = new WebSocket(this.#wsUrl(), {
        headers: {
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          [CLIENT_ADDR_HEADER]: from,
        },
        maxPayload: MAX_INBOUND_PAYLOAD,
        perMessageDeflate: false,
        // Binary frames only; a text frame would be a broker bug, not something to validate.
        skipUTF8Validation: true,
        generateMask: zeroMask,
      });
      ws.on('unexpected-response', (_req, res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          if (body.length < 8192) body += d;
        });
        res.on('end', () => {
          let code = `http_${res.statusCode}`;
          let message = `the broker refused the connection (HTTP ${res.statusCode})`;
          try {
            const parsed = JSON.parse(body) as { error?: { code?: string; message?: string } };
            code = parsed.error?.code ?? code;
            message = parsed.error?.message ?? message;
          } catch {}
          this.#emit({ kind: 'refused', id, status: res.statusCode ?? 0, code, message });
          socket.destroy();
        });
        res.on('error', () => socket.destroy());
      });
      ws.on('error', (err) => {
        this.#emit({ kind: 'error', id, message: err.message });
        socket.destroy();
      });
      ws.once('open', () =>
        wire(socket, ws!, this.stats, (u, d) => {
          up += u;
          down += d;
        }),
      );
    })().catch((err: Error) => {
      this.#emit({ kind: 'error', id, message: err.message });
      socket.destroy();
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
