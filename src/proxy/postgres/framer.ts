import { MessageTooLargeError, ProtocolError } from './errors.js';
import { UNTYPED } from './protocol.js';

/**
 * Called for each complete message whose type the framer was asked to deliver. The body (without
 * the type byte and length) is `buf[start, end)`: the scanned chunk itself when the message lies
 * within it (valid as long as the chunk's bytes are), a copy of just the body otherwise. Bounds
 * instead of a view: the relay reads a few fields of several messages per transaction, and a
 * view is an allocation each. Return `false` to stop scanning right after this message.
 */
export type FrameHandler = (type: number, buf: Buffer, start: number, end: number) => boolean | undefined;

export interface FramerOptions {
  maxMessageSize: number;
  /** Whether the next message is an untyped packet (a client's first message). */
  untyped?: boolean;
  /** Types whose body the handler needs; everything else is only skipped over. Default: none. */
  wants?: Iterable<number>;
}

/** Lookup tables by their types, so that each session's framers do not hold copies of their own. */
const wantTables = new Map<string, Uint8Array>();

function wantTable(types: Iterable<number>): Uint8Array {
  const sorted = [...new Set(types)].sort((a, b) => a - b);
  const key = sorted.join(',');
  let table = wantTables.get(key);
  if (!table) {
    table = new Uint8Array(256);
    for (const t of sorted) table[t] = 1;
    wantTables.set(key, table);
  }
  return table;
}

/**
 * Finds message boundaries in a stream of chunks without copying what it does not deliver:
 * the caller forwards its chunks untouched and the framer only walks the headers.
 * Messages are `type` (1 byte) + int32 length (counting itself) + body; a client's startup
 * packets have no type byte.
 */
export class MessageFramer {
  readonly maxMessageSize: number;
  /** Set when the next message is an untyped packet (after answering an SSLRequest, say). */
  untyped: boolean;
  /** 1 for each wanted type; shared by every framer that wants the same types, never written. */
  readonly #wants: Uint8Array;
  #wantsAll = false;

  /** A header split across chunks, allocated on the first such split: most sessions have none. */
  #header: Buffer | null = null;
  #headerHave = 0;
  /** Body bytes of the current message still to come; -1 while between messages or in a header. */
  #remaining = -1;
  #type = 0;
  /** Body being assembled across chunks, for a wanted message. */
  #body: Buffer | null = null;
  #bodyHave = 0;

  constructor(options: FramerOptions) {
    this.maxMessageSize = options.maxMessageSize;
    this.untyped = options.untyped ?? false;
    this.#wants = wantTable(options.wants ?? []);
  }

  /** Delivers every type from now on (the handshake reads every message). */
  wantAll(on = true): void {
    this.#wantsAll = on;
  }

  /** True between messages: what was forwarded so far ends on a message boundary. */
  get atBoundary(): boolean {
    return this.#headerHave === 0 && this.#remaining < 0;
  }

  /**
   * The common case, kept apart from `push`'s general loop: between messages, steps over whole
   * messages the caller does not want, reading each header's bytes directly (a COPY out is one
   * message per row, millions of them). Returns where it stopped: at the end of the chunk, or
   * before the first message it leaves to `push` (wanted, split across chunks, or with a length
   * `push` refuses).
   */
  #skipWhole(chunk: Buffer, start: number): number {
    if (this.#headerHave > 0 || this.untyped || this.#wantsAll) return start;
    const wants = this.#wants;
    const max = this.maxMessageSize;
    const len = chunk.length;
    let pos = start;
    while (pos + 5 <= len && wants[chunk[pos]!] !== 1) {
      const msgLen =
        (chunk[pos + 1]! << 24) | (chunk[pos + 2]! << 16) | (chunk[pos + 3]! << 8) | chunk[pos + 4]!;
      const end = pos + 1 + msgLen;
      if (msgLen < 4 || msgLen > max || end > len) break;
      pos = end;
    }
    return pos;
  }

  /**
   * Scans `chunk` from `start`. Returns where scanning stopped: `chunk.length`, or just past
   * the message after which the handler returned false (or, with `stopAtBoundary`, the first
   * message boundary reached). Throws MessageTooLargeError / ProtocolError on a bad header.
   */
  push(chunk: Buffer, handler: FrameHandler | null, start = 0, stopAtBoundary = false): number {
    const len = chunk.length;
    let pos = start;
    while (pos < len) {
      if (this.#remaining < 0) {
        if (!stopAtBoundary) {
          pos = this.#skipWhole(chunk, pos);
          if (pos === len) break;
        }
        // In a header.
        const headerSize = this.untyped ? 4 : 5;
        let msgLen: number;
        let msgStart: number;
        if (this.#headerHave === 0 && pos + headerSize <= len) {
          msgStart = pos;
          this.#type = this.untyped ? UNTYPED : chunk[pos]!;
          msgLen = chunk.readInt32BE(pos + headerSize - 4);
          pos += headerSize;
        } else {
          const take = Math.min(headerSize - this.#headerHave, len - pos);
          this.#header ??= Buffer.alloc(5);
          const header = this.#header;
          chunk.copy(header, this.#headerHave, pos, pos + take);
          msgStart = this.#headerHave === 0 ? pos : 0;
          this.#headerHave += take;
          pos += take;
          if (this.#headerHave < headerSize) return pos;
          this.#headerHave = 0;
          this.#type = this.untyped ? UNTYPED : header[0]!;
          msgLen = header.readInt32BE(headerSize - 4);
        }
        if (msgLen < (this.untyped ? 8 : 4)) throw new ProtocolError(`invalid message length ${msgLen}`);
        if (msgLen > this.maxMessageSize)
          throw new MessageTooLargeError(msgLen, this.maxMessageSize, msgStart);
        const untyped = this.untyped;
        this.untyped = false;
        const bodyLen = msgLen - 4;
        const wanted = this.#wantsAll || untyped || this.#wants[this.#type] === 1;
        if (!wanted) {
          this.#remaining = bodyLen;
          this.#body = null;
        } else if (pos + bodyLen <= len) {
          // Whole body in this chunk: hand out its bounds, no copy.
          const stop = handler?.(this.#type, chunk, pos, pos + bodyLen) === false;
          pos += bodyLen;
          if (stop || stopAtBoundary) return pos;
          continue;
        } else {
          this.#remaining = bodyLen;
          this.#body = Buffer.allocUnsafe(bodyLen);
          this.#bodyHave = 0;
        }
      }
      // In a body.
      const take = Math.min(this.#remaining, len - pos);
      if (this.#body) {
        chunk.copy(this.#body, this.#bodyHave, pos, pos + take);
        this.#bodyHave += take;
      }
      pos += take;
      this.#remaining -= take;
      if (this.#remaining > 0) return pos;
      this.#remaining = -1;
      const body = this.#body;
      this.#body = null;
      if (body) {
        if (handler?.(this.#type, body, 0, body.length) === false) return pos;
      }
      if (stopAtBoundary) return pos;
    }
    return pos;
  }
}
