import { type ClientRequest, request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { NetConnectOpts, Socket } from 'node:net';
import { connectReusingReadBuffer } from '../net/reused-read-buffer.js';
import { KEEPALIVE_MS, WebSocketByteStream } from './byte-stream.js';
import { acceptValue, clientUpgradeHeaders, newClientKey } from './handshake.js';

/** The server answered the upgrade with an HTTP response instead of switching protocols. */
export class UpgradeRefusedError extends Error {
  readonly status: number;
  /** The response body (at most 8 KiB). */
  readonly body: string;
  constructor(status: number, body: string) {
    super(`the server refused the WebSocket (HTTP ${status})`);
    this.name = new.target.name;
    this.status = status;
    this.body = body;
  }
}

export interface OpenWebSocketOptions {
  headers?: Record<string, string>;
  /** How long the handshake may take (default 30 s). */
  timeoutMs?: number;
  /** Aborting gives up the handshake (the promise rejects with the signal's reason). */
  signal?: AbortSignal;
  maxFramePayload?: number;
  writeLimit?: number;
}

/**
 * Opens a WebSocket to `url` (`http:`/`ws:` or `https:`/`wss:`, TLS verified with Node's CAs
 * plus NODE_EXTRA_CA_CERTS) and returns it as a byte stream once the server switched protocols
 * with the right Sec-WebSocket-Accept. No subprotocol or extension is offered.
 */
export function openWebSocket(url: URL, options: OpenWebSocketOptions = {}): Promise<WebSocketByteStream> {
  const tls = url.protocol === 'https:' || url.protocol === 'wss:';
  const httpUrl = new URL(url);
  httpUrl.protocol = tls ? 'https:' : 'http:';
  const key = newClientKey();
  return new Promise((resolve, reject) => {
    const { signal } = options;
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    let req: ClientRequest | null = null;
    const onAbort = () => req?.destroy(signal?.reason as Error);
    signal?.addEventListener('abort', onAbort, { once: true });
    const settle = (fn: () => void) => {
      signal?.removeEventListener('abort', onAbort);
      fn();
    };
    const common = {
      method: 'GET',
      timeout: options.timeoutMs ?? 30_000,
      headers: { ...options.headers, ...clientUpgradeHeaders(key) },
    };
    // A plaintext tunnel reads into a reused buffer: every byte of the session is read here.
    req = tls
      ? httpsRequest(httpUrl, { ...common, agent: false })
      : httpRequest(httpUrl, {
          ...common,
          createConnection: (opts) => connectReusingReadBuffer(opts as NetConnectOpts),
        });
    req.on('timeout', () => req?.destroy(new Error('the server did not answer the WebSocket upgrade')));
    req.on('error', (err) => settle(() => reject(err)));
    req.on('response', (res: IncomingMessage) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        if (body.length < 8192) body += d;
      });
      const done = () =>
        settle(() => reject(new UpgradeRefusedError(res.statusCode ?? 0, body.slice(0, 8192))));
      res.on('end', done);
      res.on('error', done);
    });
    req.on('upgrade', (res: IncomingMessage, socket: Socket, head: Buffer) => {
      socket.setTimeout(0);
      if (res.headers['sec-websocket-accept'] !== acceptValue(key)) {
        socket.destroy();
        settle(() =>
          reject(new Error('the server answered the WebSocket upgrade with a wrong Sec-WebSocket-Accept')),
        );
        return;
      }
      if (res.headers['sec-websocket-extensions'] || res.headers['sec-websocket-protocol']) {
        socket.destroy();
        settle(() =>
          reject(new Error('the server agreed to an extension or subprotocol that was not offered')),
        );
        return;
      }
      socket.setNoDelay(true);
      // An idle tunnel behind a NAT or proxy is noticed instead of hanging forever.
      socket.setKeepAlive(true, KEEPALIVE_MS);
      const stream = new WebSocketByteStream(socket, {
        role: 'client',
        head,
        maxFramePayload: options.maxFramePayload,
        writeLimit: options.writeLimit,
      });
      settle(() => resolve(stream));
    });
    req.end();
  });
}
