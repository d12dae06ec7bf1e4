/** Bodies longer than this are decoded each time: comparing them costs about as much. */
const MAX_KEPT = 4096;
/** Up to this length a byte loop compares faster than a call into Buffer.compare. */
const LOOP_MAX = 128;

/** Misses in a row after which bodies are taken as ever-changing (literals in the SQL, say). */
const MISSES_TO_REST = 8;
/** Bodies then decoded without a comparison before the next try. */
const REST = 64;

const EMPTY = Buffer.alloc(0);

/**
 * The text of one kind of message body, decoded again only when its bytes change. Sessions
 * repeat a few statements and tags (a pgbench, an application's prepared statements), and
 * comparing a short body with the last one is cheaper than decoding it: no string is made, and
 * the one returned is the same object as last time, which is what later steps (the event's
 * JSON) compare first. Bodies that keep changing (SQL with literals in it) would pay for a
 * comparison and a copy each time, so after a run of misses it only tries again now and then.
 */
export class RepeatedText<T> {
  readonly #decode: (buf: Buffer, start: number, end: number) => T;
  #bytes: Buffer = EMPTY;
  #value: T | undefined;
  #misses = 0;
  #rest = 0;

  constructor(decode: (buf: Buffer, start: number, end: number) => T) {
    this.#decode = decode;
  }

  /** The decoded value of `buf[start, end)`. */
  get(buf: Buffer, start: number, end: number): T {
    if (this.#rest > 0) {
      this.#rest--;
      return this.#decode(buf, start, end);
    }
    const n = end - start;
    const last = this.#bytes;
    if (this.#value !== undefined && last.length === n && sameBytes(buf, start, last, n)) {
      this.#misses = 0;
      return this.#value;
    }
    const value = this.#decode(buf, start, end);
    // After a rest, one more miss is enough to rest again.
    if (++this.#misses >= MISSES_TO_REST) this.#rest = REST;
    if (n <= MAX_KEPT) {
      this.#bytes = Buffer.allocUnsafeSlow(n);
      buf.copy(this.#bytes, 0, start, end);
      this.#value = value;
    } else {
      this.#bytes = EMPTY;
      this.#value = undefined;
    }
    return value;
  }
}

function sameBytes(buf: Buffer, start: number, last: Buffer, n: number): boolean {
  if (n > LOOP_MAX) return buf.compare(last, 0, n, start, start + n) === 0;
  for (let i = 0; i < n; i++) if (buf[start + i] !== last[i]) return false;
  return true;
}
