/**
 * RFC 6455 framing for the tunnel's data path, where a WebSocket carries a byte stream: message
 * boundaries mean nothing, so the parser hands out payload bytes as they arrive (a view into
 * the chunk read, no copy and no reassembly) and the encoder writes each chunk as one final
 * binary frame.
 * @see https://www.rfc-editor.org/rfc/rfc6455#section-5.2
 */

export const Opcode = {
  continuation: 0x0,
  text: 0x1,
  binary: 0x2,
  close: 0x8,
  ping: 0x9,
  pong: 0xa,
} as const;

/** Close codes this implementation sends (RFC 6455 §7.4.1). */
export const CloseCode = {
  normal: 1000,
  goingAway: 1001,
  protocolError: 1002,
  noStatus: 1005,
  tooBig: 1009,
} as const;

/** The peer broke the framing rules; `closeCode` is what to send before closing. */
export class WebSocketProtocolError extends Error {
  readonly closeCode: number;
  constructor(message: string, closeCode: number = CloseCode.protocolError) {
    super(message);
    this.name = new.target.name;
    this.closeCode = closeCode;
  }
}

const MAX_HEADER = 14;
/**
 * Payloads up to this size are copied behind their header so a frame is one write: the copy
 * comes from Node's buffer pool. A larger one would be an ArrayBuffer of its own for every
 * frame (a COPY out streams one per 8 KiB), which costs more than writing two buffers at once.
 */
const COALESCE_LIMIT = (Buffer.poolSize >>> 1) - 1 - MAX_HEADER;

/**
 * The header of a final frame. A client's frames must be masked (RFC 6455 §5.3); this one uses
 * the all-zero key, which leaves the payload as it is: masking protects caching intermediaries
 * from bytes a hostile web page chose, and these bytes are the user's own tool's.
 */
export function frameHeader(opcode: number, length: number, masked: boolean): Buffer {
  const maskBytes = masked ? 4 : 0;
  let header: Buffer;
  if (length < 126) {
    header = Buffer.allocUnsafe(2 + maskBytes);
    header[1] = length;
  } else if (length < 65536) {
    header = Buffer.allocUnsafe(4 + maskBytes);
    header[1] = 126;
    header.writeUInt16BE(length, 2);
  } else {
    header = Buffer.allocUnsafe(10 + maskBytes);
    header[1] = 127;
    header.writeUInt32BE(Math.floor(length / 2 ** 32), 2);
    header.writeUInt32BE(length >>> 0, 6);
  }
  header[0] = 0x80 | opcode;
  if (masked) {
    header[1]! |= 0x80;
    header.fill(0, header.length - 4);
  }
  return header;
}

/**
 * One final frame as the buffers to write: a single buffer when the payload is small (one
 * syscall, no writev), header and payload otherwise (no copy of a large payload).
 */
export function encodeFrame(opcode: number, payload: Buffer, masked: boolean): Buffer[] {
  const length = payload.length;
  if (length > COALESCE_LIMIT) return [frameHeader(opcode, length, masked), payload];
  const headerSize = (length < 126 ? 2 : 4) + (masked ? 4 : 0);
  const out = Buffer.allocUnsafe(headerSize + length);
  out[0] = 0x80 | opcode;
  if (length < 126) {
    out[1] = length | (masked ? 0x80 : 0);
  } else {
    out[1] = 126 | (masked ? 0x80 : 0);
    out.writeUInt16BE(length, 2);
  }
  if (masked) out.writeUInt32BE(0, headerSize - 4);
  payload.copy(out, headerSize);
  return [out];
}

/** A close frame's payload: the code and an optional UTF-8 reason (≤ 123 bytes). */
export function closePayload(code: number, reason = ''): Buffer {
  const text = Buffer.from(reason, 'utf8').subarray(0, 123);
  const out = Buffer.allocUnsafe(2 + text.length);
  out.writeUInt16BE(code, 0);
  text.copy(out, 2);
  return out;
}

export interface FrameSink {
  /** Payload bytes of data frames (binary, text or continuation), in order, as they arrive. */
  data(bytes: Buffer): void;
  /** A whole control frame (close, ping or pong); its payload is at most 125 bytes. */
  control(opcode: number, payload: Buffer): void;
}

export interface FrameParserOptions {
  /** A server requires masked frames from its client; a client refuses masked ones. */
  expectMasked: boolean;
  /** Largest frame payload accepted; a larger one is answered with close code 1009. */
  maxFramePayload: number;
}

/**
 * Incremental frame parser. `push` walks the chunk, calling the sink with payload views;
 * a header split across chunks is assembled in a 14-byte scratch buffer, a control frame's
 * payload in its own small buffer. Non-zero masks are removed in place (the chunk belongs to
 * the reader). Text frames are relayed as bytes: there is no UTF-8 check, by design.
 */
export class FrameParser {
  readonly #expectMasked: boolean;
  readonly #maxPayload: number;
  /** A header split across chunks, allocated on the first such split: most streams have none. */
  #header: Buffer | null = null;
  #headerHave = 0;
  /** Payload bytes of the current frame still to come; -1 between frames. */
  #remaining = -1;
  #opcode = 0;
  #mask = 0;
  #maskOffset = 0;
  #control: Buffer | null = null;
  #controlHave = 0;
  /** Inside a fragmented data message (a non-final data frame was seen). */
  #fragmented = false;

  constructor(options: FrameParserOptions) {
    this.#expectMasked = options.expectMasked;
    this.#maxPayload = options.maxFramePayload;
  }

  /** Throws WebSocketProtocolError on a frame the rules forbid. */
  push(chunk: Buffer, sink: FrameSink): void {
    let pos = 0;
    const len = chunk.length;
    while (pos < len) {
      if (this.#remaining < 0) {
        pos = this.#readHeader(chunk, pos);
        if (this.#remaining < 0) return;
        if (this.#remaining === 0) this.#finishFrame(sink);
        continue;
      }
      const take = Math.min(this.#remaining, len - pos);
      const part = chunk.subarray(pos, pos + take);
      if (this.#mask !== 0) this.#unmask(part);
      pos += take;
      this.#remaining -= take;
      if (this.#control) {
        part.copy(this.#control, this.#controlHave);
        this.#controlHave += take;
      } else {
        sink.data(part);
      }
      if (this.#remaining === 0) this.#finishFrame(sink);
    }
  }

  #readHeader(chunk: Buffer, start: number): number {
    let src = chunk;
    let at = start;
    let available = chunk.length - start;
    if (this.#headerHave > 0 || available < 2) {
      const take = Math.min(MAX_HEADER - this.#headerHave, available);
      this.#header ??= Buffer.alloc(MAX_HEADER);
      chunk.copy(this.#header, this.#headerHave, start, start + take);
      src = this.#header;
      at = 0;
      available = this.#headerHave + take;
    }
    if (available < 2) {
      this.#headerHave = available;
      return chunk.length;
    }
    const b0 = src[at]!;
    const b1 = src[at + 1]!;
    const masked = (b1 & 0x80) !== 0;
    const len7 = b1 & 0x7f;
    const size = 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + (masked ? 4 : 0);
    if (available < size) {
      if (src !== this.#header) {
        this.#header ??= Buffer.alloc(MAX_HEADER);
        chunk.copy(this.#header, 0, start, chunk.length);
      }
      this.#headerHave = available;
      return chunk.length;
    }
    if ((b0 & 0x70) !== 0) throw new WebSocketProtocolError('reserved bits set (no extension was agreed)');
    const fin = (b0 & 0x80) !== 0;
    const opcode = b0 & 0x0f;
    if (masked !== this.#expectMasked)
      throw new WebSocketProtocolError(
        masked ? 'a server must not mask frames' : 'a client must mask frames',
      );
    let length = len7;
    let p = at + 2;
    if (len7 === 126) {
      length = src.readUInt16BE(p);
      p += 2;
    } else if (len7 === 127) {
      const high = src.readUInt32BE(p);
      if (high > 0x1fffff) throw new WebSocketProtocolError('frame length out of range', CloseCode.tooBig);
      length = high * 2 ** 32 + src.readUInt32BE(p + 4);
      p += 8;
    }
    this.#mask = masked ? src.readInt32BE(p) : 0;
    this.#maskOffset = 0;
    if (opcode >= 0x8) {
      if (opcode > Opcode.pong) throw new WebSocketProtocolError(`unknown opcode ${opcode}`);
      if (!fin) throw new WebSocketProtocolError('a control frame must not be fragmented');
      if (length > 125) throw new WebSocketProtocolError('control frame payload over 125 bytes');
      this.#control = Buffer.allocUnsafe(length);
      this.#controlHave = 0;
    } else {
      if (opcode > Opcode.binary) throw new WebSocketProtocolError(`unknown opcode ${opcode}`);
      if (opcode === Opcode.continuation && !this.#fragmented)
        throw new WebSocketProtocolError('continuation frame without a message to continue');
      if (opcode !== Opcode.continuation && this.#fragmented)
        throw new WebSocketProtocolError('new message before the previous one ended');
      if (length > this.#maxPayload)
        throw new WebSocketProtocolError(
          `frame of ${length} bytes exceeds the limit of ${this.#maxPayload}`,
          CloseCode.tooBig,
        );
      this.#fragmented = !fin;
      this.#control = null;
    }
    this.#opcode = opcode;
    this.#remaining = length;
    // Bytes of this chunk consumed: the header's part that was not already held.
    const consumed = size - this.#headerHave;
    this.#headerHave = 0;
    return start + consumed;
  }

  #finishFrame(sink: FrameSink): void {
    this.#remaining = -1;
    const control = this.#control;
    if (control) {
      this.#control = null;
      sink.control(this.#opcode, control);
    }
  }

  /** XORs `part` in place with the frame's mask, continuing where the last part stopped. */
  #unmask(part: Buffer): void {
    const mask = this.#mask;
    let offset = this.#maskOffset;
    for (let i = 0; i < part.length; i++) {
      part[i]! ^= (mask >>> ((3 - (offset & 3)) * 8)) & 0xff;
      offset++;
    }
    this.#maskOffset = offset & 3;
  }
}
