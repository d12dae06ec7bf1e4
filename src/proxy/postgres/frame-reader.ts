import type { ClientStream } from './engine.types.js';
import type { MessageFramer } from './framer.js';

export interface Frame {
  type: number;
  body: Buffer;
}

/** The peer closed (or errored) before the message the reader waited for arrived. */
export class PeerClosedError extends Error {
  readonly code = 'PEER_CLOSED';
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/**
 * Pull-style reading of whole messages, for the handshakes (not the relay). `release()` hands
 * back the bytes received past the last message read, so the relay starts on a boundary.
 */
export class FrameReader {
  readonly #socket: ClientStream;
  readonly #framer: MessageFramer;
  #pending: Buffer = Buffer.alloc(0);
  #waiter: { resolve: (f: Frame) => void; reject: (e: unknown) => void } | null = null;
  #failure: unknown = null;
  bytesRead = 0;

  constructor(socket: ClientStream, framer: MessageFramer) {
    this.#socket = socket;
    this.#framer = framer;
    framer.wantAll();
    socket.on('data', this.#onData);
    socket.on('end', this.#onClose);
    socket.on('close', this.#onClose);
    socket.on('error', this.#onError);
  }

  get framer(): MessageFramer {
    return this.#framer;
  }

  #onData = (chunk: Buffer): void => {
    this.bytesRead += chunk.length;
    this.#pending = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    this.#pump();
  };

  #onClose = (): void => {
    this.#fail(new PeerClosedError('connection closed'));
  };

  #onError = (err: Error): void => {
    this.#fail(new PeerClosedError('connection failed', { cause: err }));
  };

  #fail(err: unknown): void {
    if (this.#failure === null) this.#failure = err;
    this.#pump();
  }

  #pump(): void {
    const waiter = this.#waiter;
    if (!waiter) return;
    let frame: Frame | null = null;
    try {
      if (this.#pending.length > 0) {
        const used = this.#framer.push(
          this.#pending,
          (type, buf, start, end) => {
            frame = { type, body: buf.subarray(start, end) };
            return false;
          },
          0,
          true,
        );
        this.#pending = this.#pending.subarray(used);
      }
    } catch (err) {
      this.#waiter = null;
      waiter.reject(err);
      return;
    }
    if (frame) {
      this.#waiter = null;
      waiter.resolve(frame);
    } else if (this.#failure !== null) {
      this.#waiter = null;
      waiter.reject(this.#failure);
    }
  }

  next(): Promise<Frame> {
    if (this.#waiter) throw new Error('FrameReader.next called while a read is pending');
    return new Promise<Frame>((resolve, reject) => {
      this.#waiter = { resolve, reject };
      this.#pump();
    });
  }

  /** Stops reading; returns the bytes received but not consumed. The socket is left paused. */
  release(): Buffer {
    this.#socket.pause();
    this.#socket.off('data', this.#onData);
    this.#socket.off('end', this.#onClose);
    this.#socket.off('close', this.#onClose);
    this.#socket.off('error', this.#onError);
    this.#framer.wantAll(false);
    const rest = this.#pending;
    this.#pending = Buffer.alloc(0);
    return rest;
  }
}
