import { ProtocolError } from './errors.js';

/** Reads the fields of one message body; every read is bounds-checked. */
export class ByteReader {
  readonly #buf: Buffer;
  #pos: number;
  readonly #end: number;

  constructor(buf: Buffer, start = 0, end = buf.length) {
    this.#buf = buf;
    this.#pos = start;
    this.#end = end;
  }

  get remaining(): number {
    return this.#end - this.#pos;
  }

  #need(n: number): void {
    if (this.#pos + n > this.#end) throw new ProtocolError('message ends early');
  }

  int8(): number {
    this.#need(1);
    return this.#buf[this.#pos++]!;
  }

  int16(): number {
    this.#need(2);
    const v = this.#buf.readInt16BE(this.#pos);
    this.#pos += 2;
    return v;
  }

  int32(): number {
    this.#need(4);
    const v = this.#buf.readInt32BE(this.#pos);
    this.#pos += 4;
    return v;
  }

  cstring(): string {
    const nul = this.#buf.indexOf(0, this.#pos);
    if (nul < 0 || nul >= this.#end) throw new ProtocolError('string without terminator');
    const s = this.#buf.toString('utf8', this.#pos, nul);
    this.#pos = nul + 1;
    return s;
  }

  /** Skips a NUL-terminated string without decoding it; true when it was empty. */
  skipCString(): boolean {
    const nul = this.#buf.indexOf(0, this.#pos);
    if (nul < 0 || nul >= this.#end) throw new ProtocolError('string without terminator');
    const empty = nul === this.#pos;
    this.#pos = nul + 1;
    return empty;
  }

  bytes(n: number): Buffer {
    if (n < 0) throw new ProtocolError('negative length');
    this.#need(n);
    const b = this.#buf.subarray(this.#pos, this.#pos + n);
    this.#pos += n;
    return b;
  }

  rest(): Buffer {
    const b = this.#buf.subarray(this.#pos, this.#end);
    this.#pos = this.#end;
    return b;
  }

  skip(n: number): void {
    this.#need(n);
    this.#pos += n;
  }
}
