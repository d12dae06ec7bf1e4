import { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';

/**
 * Bytes the WebSocket may hold unsent before a write reports backpressure, and the duplex's own
 * write buffer. Above the streams' default 16 KiB so that relaying one 64 KiB read does not
 * pause and resume its source every time; bounded so that a slow client costs the broker at
 * most about twice this (plus one chunk) per connection.
 */
export const WS_BUFFER_LIMIT = 256 * 1024;

/**
 * A WebSocket as a byte stream for the engine: each write is one binary message, each message
 * received is one chunk read. It differs from ws's `createWebSocketStream` in its write path:
 * that one completes a write only once its bytes reached the kernel, so one write is in flight
 * at a time and a 64 KiB chunk always pauses its source; here a write completes at once while
 * `bufferedAmount` stays under WS_BUFFER_LIMIT, and waits for the socket to flush otherwise.
 * Close and error handling follow `createWebSocketStream`.
 */
export class WebSocketDuplex extends Duplex {
  readonly #ws: WebSocket;
  #terminateOnDestroy = true;

  constructor(ws: WebSocket) {
    super({
      autoDestroy: false,
      emitClose: false,
      allowHalfOpen: true,
      writableHighWaterMark: WS_BUFFER_LIMIT,
    });
    this.#ws = ws;
    ws.on('message', (data: Buffer) => {
      if (!this.push(data)) ws.pause();
    });
    ws.once('error', (err) => {
      if (this.destroyed) return;
      this.#terminateOnDestroy = false;
      this.destroy(err);
    });
    ws.once('close', () => {
      if (this.destroyed) return;
      this.push(null);
    });
    this.on('end', () => {
      if (!this.destroyed && this.writableFinished) this.destroy();
    });
    this.on('error', () => {
      if (!this.destroyed) this.destroy();
    });
  }

  override _read(): void {
    if (this.#ws.isPaused) this.#ws.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (err?: Error | null) => void): void {
    const ws = this.#ws;
    if (ws.readyState !== ws.OPEN || ws.bufferedAmount + chunk.length > WS_BUFFER_LIMIT) {
      // Completes when these bytes are flushed, or with an error when the WebSocket is gone.
      ws.send(chunk, { binary: true }, callback);
      return;
    }
    ws.send(chunk, { binary: true });
    callback();
  }

  override _final(callback: (err?: Error | null) => void): void {
    const ws = this.#ws;
    const socket = (ws as unknown as { _socket: Duplex | null })._socket;
    if (socket === null) return;
    if (socket.writableFinished) {
      callback();
      if (this.readableEnded) this.destroy();
      return;
    }
    socket.once('finish', () => callback());
    ws.close();
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    const ws = this.#ws;
    if (ws.readyState === ws.CLOSED) {
      callback(err);
      process.nextTick(() => this.emit('close'));
      return;
    }
    let called = false;
    ws.once('error', (e) => {
      called = true;
      callback(e);
    });
    ws.once('close', () => {
      if (!called) callback(err);
      process.nextTick(() => this.emit('close'));
    });
    if (this.#terminateOnDestroy) ws.terminate();
  }
}
