/**
 * Builds one protocol message at a time. Messages made here are small (handshake, errors,
 * cancel requests); the relay never re-encodes what it forwards.
 */
export class ByteWriter {
  #buf: Buffer;
  #len = 0;

  constructor(initialSize = 256) {
    this.#buf = Buffer.allocUnsafe(initialSize);
  }

  #ensure(extra: number): void {
    if (this.#len + extra <= this.#buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.#buf.length * 2, this.#len + extra));
    this.#buf.copy(next, 0, 0, this.#len);
    this.#buf = next;
  }

  int8(value: number): this {
    this.#ensure(1);
    this.#buf.writeUInt8(value, this.#len);
    this.#len += 1;
    return this;
  }

  int16(value: number): this {
    this.#ensure(2);
    this.#buf.writeInt16BE(value, this.#len);
    this.#len += 2;
    return this;
  }

  int32(value: number): this {
    this.#ensure(4);
    this.#buf.writeInt32BE(value, this.#len);
    this.#len += 4;
    return this;
  }

  /** A NUL-terminated UTF-8 string. */
  cstring(value: string): this {
    const n = Buffer.byteLength(value);
    this.#ensure(n + 1);
    this.#buf.write(value, this.#len, 'utf8');
    this.#len += n;
    this.#buf[this.#len++] = 0;
    return this;
  }

  bytes(value: Uint8Array): this {
    this.#ensure(value.length);
    this.#buf.set(value, this.#len);
    this.#len += value.length;
    return this;
  }

  /** The message: `type` + int32 length (which counts itself) + what was written. */
  message(type: number): Buffer {
    const out = Buffer.allocUnsafe(5 + this.#len);
    out[0] = type;
    out.writeInt32BE(4 + this.#len, 1);
    this.#buf.copy(out, 5, 0, this.#len);
    return out;
  }

  /** An untyped packet (StartupMessage, SSLRequest, CancelRequest): int32 length + body. */
  packet(): Buffer {
    const out = Buffer.allocUnsafe(4 + this.#len);
    out.writeInt32BE(4 + this.#len, 0);
    this.#buf.copy(out, 4, 0, this.#len);
    return out;
  }
}
