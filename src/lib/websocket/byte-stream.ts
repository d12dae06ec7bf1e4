import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import {
  CloseCode,
  closePayload,
  encodeFrame,
  FrameParser,
  type FrameSink,
  Opcode,
  WebSocketProtocolError,
} from './frame.js';

export interface WebSocketByteStreamOptions {
  /** A client masks what it sends and refuses masked frames; a server the other way round. */
  role: 'client' | 'server';
  /** Bytes read past the handshake's end (the `head` of an upgrade). */
  head?: Buffer;
  /** Largest frame payload accepted (default 64 MiB); above it the stream closes with 1009. */
  maxFramePayload?: number;
  /** Bytes queued unsent in user space above which `write` reports backpressure (default 256 KiB). */
  writeLimit?: number;
}

/** Codes a close frame may carry (RFC 6455 §7.4): 1005, 1006 and 1015 are for reports only. */
function sendableCloseCode(code: number): boolean {
  return (
    (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) ||
    (code >= 3000 && code < 5000)
  );
}

/** Idle time before TCP keepalive probes start on a tunnel's socket (both ends set it). */
export const KEEPALIVE_MS = 60_000;

/** How long a stream that sent a close frame waits for the peer to close the connection. */
const CLOSE_TIMEOUT_MS = 2000;

/**
 * A WebSocket (after its handshake) as a byte stream: `write(chunk)` sends one binary frame,
 * `'data'` delivers received payload bytes as they arrive, whatever the frame and message
 * boundaries. It speaks to the socket directly, without a stream adapter: the tunnel relays
 * every byte of a database session through it, so its per-chunk cost is the frame header.
 *
 * It offers the subset of the Duplex interface the relays use, with the same meaning: `write`
 * returns false above `writeLimit` and `'drain'` follows; `pause`/`resume` (adding a `'data'`
 * listener resumes unless `pause` was called); `end([chunk])` sends the chunk, a close frame
 * (1000) and ends the connection; `'end'` once the peer's close frame (or the connection's end)
 * arrived after all its data; `'close'` when the connection is closed; `destroy()`.
 * Pings are answered; a frame that breaks RFC 6455 closes the stream with 1002 (1009 when too
 * large) and is reported as an `'error'`. A `'data'` chunk is a view of what the socket read, so
 * it is the listener's to keep as long as the socket's own chunks are (see `lendReads`); what
 * the stream queues while paused, it copies.
 */
export class WebSocketByteStream extends EventEmitter {
  readonly socket: Socket;
  /** Payload bytes received and sent. */
  bytesRead = 0;
  bytesWritten = 0;
  /** The code of the peer's close frame (1005 when it had none), null before one arrived. */
  peerCloseCode: number | null = null;
  readonly #masked: boolean;
  readonly #parser: FrameParser;
  readonly #writeLimit: number;
  #paused = false;
  #explicitlyPaused = false;
  #queue: Buffer[] = [];
  #endPending = false;
  #endEmitted = false;
  #closeSent = false;
  #failed = false;
  readonly #sink: FrameSink = {
    data: (bytes) => this.#deliver(bytes),
    control: (opcode, payload) => this.#onControl(opcode, payload),
  };

  constructor(socket: Socket, options: WebSocketByteStreamOptions) {
    super();
    this.socket = socket;
    this.#masked = options.role === 'client';
    this.#writeLimit = options.writeLimit ?? 256 * 1024;
    this.#parser = new FrameParser({
      expectMasked: options.role === 'server',
      maxFramePayload: options.maxFramePayload ?? 64 * 1024 * 1024,
    });
    // Nothing is delivered until someone listens or resumes, as with a stream.
    this.#paused = true;
    socket.pause();
    socket.on('data', this.#onData);
    socket.on('end', this.#onSocketEnd);
    socket.on('drain', () => this.emit('drain'));
    socket.on('error', (err) => {
      if (this.listenerCount('error') > 0) this.emit('error', err);
    });
    socket.on('close', () => this.emit('close'));
    if (options.head && options.head.length > 0) this.#onData(options.head);
  }

  // biome-ignore lint/suspicious/noExplicitAny: the signature EventEmitter.on declares
  override on(event: string | symbol, listener: (...args: any[]) => void): this {
    super.on(event, listener);
    if (event === 'data' && !this.#explicitlyPaused) this.resume();
    return this;
  }

  get destroyed(): boolean {
    return this.socket.destroyed;
  }

  /** True once `end` was called or a close frame was sent: nothing more will be written. */
  get writableEnded(): boolean {
    return this.#closeSent;
  }

  /** Bytes accepted by `write` that the kernel has not taken yet. */
  get writableLength(): number {
    return this.socket.writableLength;
  }

  isPaused(): boolean {
    return this.#paused;
  }

  setNoDelay(on = true): this {
    this.socket.setNoDelay(on);
    return this;
  }

  /** Sends `chunk` as one binary frame; false when the caller should wait for `'drain'`. */
  write(chunk: Buffer): boolean {
    const socket = this.socket;
    if (this.#closeSent || socket.destroyed) return false;
    if (chunk.length === 0) return true;
    this.bytesWritten += chunk.length;
    this.#send(Opcode.binary, chunk);
    return socket.writableLength <= this.#writeLimit;
  }

  /** Sends `chunk` (if any), then a normal close; the connection ends after the peer's reply. */
  end(chunk?: Buffer): this {
    if (chunk && chunk.length > 0) this.write(chunk);
    this.close(CloseCode.normal);
    return this;
  }

  /** Sends a close frame with `code` once and ends the connection's writing side. */
  close(code: number, reason = ''): void {
    if (this.#closeSent || this.socket.destroyed) return;
    this.#closeSent = true;
    this.#send(Opcode.close, code === CloseCode.noStatus ? Buffer.alloc(0) : closePayload(code, reason));
    this.socket.end();
    setTimeout(() => this.socket.destroy(), CLOSE_TIMEOUT_MS).unref();
  }

  destroy(): this {
    this.socket.destroy();
    return this;
  }

  pause(): this {
    this.#explicitlyPaused = true;
    this.#paused = true;
    this.socket.pause();
    return this;
  }

  resume(): this {
    this.#explicitlyPaused = false;
    if (!this.#paused) return this;
    this.#paused = false;
    while (!this.#paused && this.#queue.length > 0) this.emit('data', this.#queue.shift()!);
    if (this.#paused) return this;
    if (this.#endPending) this.#emitEnd();
    this.socket.resume();
    return this;
  }

  #send(opcode: number, payload: Buffer): void {
    const socket = this.socket;
    const frames = encodeFrame(opcode, payload, this.#masked);
    if (frames.length === 1) {
      socket.write(frames[0]!);
      return;
    }
    socket.cork();
    for (const f of frames) socket.write(f);
    socket.uncork();
  }

  #onData = (chunk: Buffer): void => {
    if (this.#failed || this.peerCloseCode !== null) return;
    try {
      this.#parser.push(chunk, this.#sink);
    } catch (err) {
      if (!(err instanceof WebSocketProtocolError)) throw err;
      this.#failed = true;
      this.close(err.closeCode, err.message.slice(0, 100));
      if (this.listenerCount('error') > 0) this.emit('error', err);
    }
  };

  #deliver(bytes: Buffer): void {
    this.bytesRead += bytes.length;
    // Queued bytes are copied: the chunk they are a view of may be read into again once this
    // call returns (a socket that lends its reads, see lendReads).
    if (this.#paused || this.#queue.length > 0) this.#queue.push(Buffer.from(bytes));
    else this.emit('data', bytes);
  }

  #onControl(opcode: number, payload: Buffer): void {
    if (opcode === Opcode.ping) {
      if (!this.#closeSent && !this.socket.destroyed) this.#send(Opcode.pong, payload);
      return;
    }
    if (opcode !== Opcode.close) return;
    const code = payload.length >= 2 ? payload.readUInt16BE(0) : CloseCode.noStatus;
    this.peerCloseCode = code;
    // Echo the code (RFC 6455 §5.5.1), then end: nothing the peer sends after its close counts.
    this.close(sendableCloseCode(code) ? code : code === CloseCode.noStatus ? code : CloseCode.protocolError);
    this.#requestEnd();
  }

  #onSocketEnd = (): void => {
    this.#requestEnd();
  };

  #requestEnd(): void {
    if (this.#endEmitted) return;
    if (this.#paused || this.#queue.length > 0) this.#endPending = true;
    else this.#emitEnd();
  }

  #emitEnd(): void {
    if (this.#endEmitted) return;
    this.#endEmitted = true;
    this.#endPending = false;
    this.emit('end');
  }
}
