import type { Insertable, Selectable } from 'kysely';
import type { SessionEventChunksTable, SessionEventsTable } from './schema.types.js';

/** A statement event as written by the relay. */
export type SessionEventInput = Insertable<SessionEventsTable>;

/** A statement event as read back: every field present, absent ones null. */
export type SessionEvent = Omit<Selectable<SessionEventsTable>, 'id'>;

/** Line format of a chunk: version 1 is one JSON array per event, in this field order. */
export const CHUNK_FORMAT = 1;
export const EVENT_FIELDS = [
  'seq',
  'at',
  'kind',
  'statement',
  'param_count',
  'command_tag',
  'rows',
  'duration_ms',
  'error',
  'data',
] as const;

/**
 * Characters above which a session's chunk is closed and the next event starts another: a
 * chunk is one database value and one JS string, and statements can be large (up to the
 * relay's message limit).
 */
export const CHUNK_MAX_CHARS = 4 * 1024 * 1024;

/** Statements longer than this (in bytes of JSON) are written again rather than copied from the last line. */
const STATEMENT_COPY_MAX_BYTES = 4096;
/** Capacity a chunk's buffer starts with; it doubles as lines come. */
const CHUNK_INITIAL_BYTES = 4096;

/**
 * Writes one chunk's lines as bytes, in a buffer that grows by doubling, and turns them into the
 * chunk's text once, at the end. The relay records every statement, and building each line as a
 * string (a template of twenty pieces, then the chunk as a rope of lines) cost more than the
 * statement's relaying: every piece was an allocation, the rope had to be flattened again to be
 * copied to the store's thread, and all of it stayed alive until then. Here numbers are written
 * digit by digit and strings character by character; only what JSON must escape goes through
 * `JSON.stringify`. The text is exactly the lines `JSON.stringify` gives, joined by newlines.
 */
class ChunkWriter {
  #buf: Buffer;
  #pos = 0;
  /** Bytes written minus the UTF-16 code units they decode to (non-zero once a character above ASCII is written). */
  #extra = 0;
  /**
   * The last statement written and where its JSON is in the buffer: a session mostly repeats a
   * few statements (a pgbench's, an application's prepared ones), passed on as the same string,
   * and copying its bytes is cheaper than writing them again.
   */
  #lastStatement: string | null = null;
  #lastStatementStart = 0;
  #lastStatementEnd = 0;
  #lastStatementExtra = 0;
  /** Where the last line starts, and #extra before it. */
  #lineStart = 0;
  #lineExtra = 0;
  /** Events written. */
  count = 0;

  constructor(capacity: number) {
    this.#buf = Buffer.allocUnsafe(Math.max(capacity, CHUNK_INITIAL_BYTES));
  }

  /** The text's length so far, in UTF-16 code units (what CHUNK_MAX_CHARS counts). */
  get chars(): number {
    return this.#pos - this.#extra;
  }

  /** Removes the last line (moved to the next chunk) and returns it, to `paste` there. */
  cutLast(): { bytes: Buffer; extra: number } {
    const bytes = Buffer.from(this.#buf.subarray(this.#lineStart, this.#pos));
    const extra = this.#extra - this.#lineExtra;
    // The newline before it goes too.
    this.#pos = this.#lineStart > 0 ? this.#lineStart - 1 : 0;
    this.#extra = this.#lineExtra;
    this.count--;
    // The statement to copy may have been in the line just removed.
    this.#lastStatement = null;
    return { bytes, extra };
  }

  /** Appends a line `cutLast` took from another writer. */
  paste(line: { bytes: Buffer; extra: number }): void {
    if (this.count > 0) this.#byte(0x0a);
    this.#ensure(line.bytes.length);
    line.bytes.copy(this.#buf, this.#pos);
    this.#pos += line.bytes.length;
    this.#extra += line.extra;
    this.count++;
  }

  /** The chunk's text: a plain copy when every byte is ASCII (no character took more than a byte). */
  text(): string {
    return this.#buf.toString(this.#extra === 0 ? 'latin1' : 'utf8', 0, this.#pos);
  }

  /** One event's line, after a newline when the chunk already has one. */
  line(r: SessionEventInput): void {
    if (this.count > 0) this.#byte(0x0a);
    this.count++;
    this.#lineStart = this.#pos;
    this.#lineExtra = this.#extra;
    this.#byte(0x5b); // [
    this.#number(r.seq);
    this.#byte(0x2c);
    this.#number(r.at);
    this.#byte(0x2c);
    this.#string(r.kind);
    this.#byte(0x2c);
    this.#statement(r.statement);
    this.#byte(0x2c);
    this.#number(r.param_count);
    this.#byte(0x2c);
    this.#string(r.command_tag);
    this.#byte(0x2c);
    this.#number(r.rows);
    this.#byte(0x2c);
    this.#millis(r.duration_ms);
    this.#byte(0x2c);
    this.#string(r.error);
    this.#byte(0x2c);
    this.#string(r.data);
    this.#byte(0x5d); // ]
  }

  #ensure(n: number): void {
    if (this.#pos + n <= this.#buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.#buf.length * 2, this.#pos + n));
    this.#buf.copy(grown, 0, 0, this.#pos);
    this.#buf = grown;
  }

  #byte(b: number): void {
    if (this.#pos === this.#buf.length) this.#ensure(1);
    this.#buf[this.#pos++] = b;
  }

  /** ASCII text, such as `null` or a number as JavaScript writes it. */
  #ascii(s: string): void {
    this.#ensure(s.length);
    const buf = this.#buf;
    let p = this.#pos;
    for (let i = 0; i < s.length; i++) buf[p++] = s.charCodeAt(i);
    this.#pos = p;
  }

  /** A number as JSON: what `String(n)` gives, `null` for a missing or non-finite one. */
  #number(n: number | null | undefined): void {
    if (n === null || n === undefined || !Number.isFinite(n)) this.#ascii('null');
    else if (Number.isSafeInteger(n)) this.#integer(n);
    else this.#ascii(`${n}`);
  }

  /** A safe integer, digit by digit (converting it to a string first was an allocation per field). */
  #integer(n: number): void {
    if (n < 0) {
      this.#byte(0x2d);
      n = -n;
    }
    if (n < 2 ** 31) {
      this.#small(n, 0);
      return;
    }
    // Timestamps and large counts: the digits above the last nine, then those nine (zero-padded),
    // each part small enough for integer arithmetic.
    let high = Math.floor(n / 1e9);
    let low = n - high * 1e9;
    // A quotient rounded up (possible near 2^53) is put right by its remainder.
    if (low < 0) {
      high--;
      low += 1e9;
    }
    this.#integer(high);
    this.#small(low, 9);
  }

  /** A non-negative integer below 2^31, with leading zeros up to `width` digits. */
  #small(n: number, width: number): void {
    let digits = 1;
    for (let x = n; x >= 10; x = (x / 10) | 0) digits++;
    if (digits < width) digits = width;
    this.#ensure(digits);
    const buf = this.#buf;
    const end = this.#pos + digits;
    let p = end;
    while (p > this.#pos) {
      const q = (n / 10) | 0;
      buf[--p] = 0x30 + (n - q * 10);
      n = q;
    }
    this.#pos = end;
  }

  /**
   * A duration the tracker rounded to the microsecond, written from its whole microseconds. Below
   * 2^31 µs a number with at most three decimals has no shorter form that reads back the same, so
   * this is the text `JSON.stringify` would give; anything else goes the generic way.
   */
  #millis(ms: number | null | undefined): void {
    if (ms === null || ms === undefined) {
      this.#ascii('null');
      return;
    }
    const us = Math.round(ms * 1000);
    if (us < 0 || us >= 2 ** 31 || us / 1000 !== ms) {
      this.#number(ms);
      return;
    }
    const whole = Math.floor(us / 1000);
    let frac = us - whole * 1000;
    this.#integer(whole);
    if (frac === 0) return;
    this.#byte(0x2e); // .
    let digits = 3;
    while (frac % 10 === 0) {
      frac /= 10;
      digits--;
    }
    this.#small(frac, digits);
  }

  /** The statement: copied from where it was last written, when it is the same string. */
  #statement(s: string | null | undefined): void {
    const start = this.#pos;
    if (s === this.#lastStatement && s !== null) {
      const from = this.#lastStatementStart;
      const length = this.#lastStatementEnd - from;
      this.#ensure(length);
      const buf = this.#buf;
      if (length > 64) buf.copyWithin(start, from, from + length);
      else for (let i = 0; i < length; i++) buf[start + i] = buf[from + i]!;
      this.#pos = start + length;
      this.#extra += this.#lastStatementExtra;
      return;
    }
    const extra = this.#extra;
    this.#string(s);
    if (s === null || s === undefined || this.#pos - start > STATEMENT_COPY_MAX_BYTES) return;
    this.#lastStatement = s;
    this.#lastStatementStart = start;
    this.#lastStatementEnd = this.#pos;
    this.#lastStatementExtra = this.#extra - extra;
  }

  /**
   * A string as JSON. Most need no escaping and are ASCII: those are copied as they are scanned.
   * The first character that is not sends the string the general way (from the start).
   */
  #string(s: string | null | undefined): void {
    if (s === null || s === undefined) {
      this.#ascii('null');
      return;
    }
    const n = s.length;
    this.#ensure(n + 2);
    const buf = this.#buf;
    const start = this.#pos;
    let p = start;
    buf[p++] = 0x22;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c < 0x20 || c === 0x22 || c === 0x5c || c > 0x7e) {
        this.#pos = start;
        this.#general(s);
        return;
      }
      buf[p++] = c;
    }
    buf[p++] = 0x22;
    this.#pos = p;
  }

  /** A string with characters to escape or above ASCII: `JSON.stringify`'s text, as UTF-8. */
  #general(s: string): void {
    const json = JSON.stringify(s);
    const bytes = Buffer.byteLength(json, 'utf8');
    this.#ensure(bytes);
    this.#buf.write(json, this.#pos, bytes, 'utf8');
    this.#pos += bytes;
    this.#extra += bytes - json.length;
  }
}

interface OpenChunk {
  session_id: string;
  first: number;
  last: number;
  writer: ChunkWriter;
}

/**
 * Events grouped by session into chunks as they are added, one stored row per session per batch
 * (more when a session's events exceed CHUNK_MAX_CHARS): the relay records every statement, and
 * a database row per statement cost more than relaying the statement did. Each chunk is JSON
 * lines (JSON escapes newlines inside strings), readable without gatectl. Order within a session
 * is kept; a session's chunks are returned in order.
 *
 * An event is written into its chunk's bytes when it is added, so a batch holds no object per
 * event while it waits to be stored.
 */
export class SessionEventBatch {
  readonly #open = new Map<string, OpenChunk>();
  readonly #done: OpenChunk[] = [];
  #events = 0;

  /** Events added. */
  get events(): number {
    return this.#events;
  }

  /** Throws, adding nothing, when the event does not follow its session's last one. */
  add(r: SessionEventInput): void {
    const c = this.#open.get(r.session_id);
    if (!c) {
      const writer = new ChunkWriter(CHUNK_INITIAL_BYTES);
      writer.line(r);
      this.#open.set(r.session_id, { session_id: r.session_id, first: r.seq, last: r.seq, writer });
      this.#events++;
      return;
    }
    if (r.seq <= c.last)
      throw new Error(`session ${r.session_id}: event ${r.seq} follows event ${c.last} in one batch`);
    this.#events++;
    c.writer.line(r);
    if (c.writer.chars < CHUNK_MAX_CHARS) {
      c.last = r.seq;
      return;
    }
    // Too long with this line: the chunk closes without it, and the line starts the next one.
    const line = c.writer.cutLast();
    this.#done.push(c);
    const writer = new ChunkWriter(line.bytes.length);
    writer.paste(line);
    this.#open.set(r.session_id, { session_id: r.session_id, first: r.seq, last: r.seq, writer });
  }

  /** The chunks to store, in order within each session. */
  chunks(): Insertable<SessionEventChunksTable>[] {
    return [...this.#done, ...this.#open.values()].map((c) => ({
      session_id: c.session_id,
      first_seq: c.first,
      last_seq: c.last,
      count: c.writer.count,
      format: CHUNK_FORMAT,
      events: c.writer.text(),
    }));
  }
}

/** `rows` as chunks (see SessionEventBatch); throws when a session's events are out of order. */
export function chunkSessionEvents(
  rows: readonly SessionEventInput[],
): Insertable<SessionEventChunksTable>[] {
  const batch = new SessionEventBatch();
  for (const r of rows) batch.add(r);
  return batch.chunks();
}

/** One event's line: exactly `JSON.stringify` of its fields in EVENT_FIELDS order. */
export function eventLine(r: SessionEventInput): string {
  const w = new ChunkWriter(256);
  w.line(r);
  return w.text();
}

/** The events of one stored chunk, in order. Throws on a chunk this version cannot read. */
export function decodeSessionEventChunk(chunk: {
  session_id: string;
  format: number;
  count: number;
  events: string;
}): SessionEvent[] {
  if (Number(chunk.format) !== CHUNK_FORMAT)
    throw new Error(
      `session ${chunk.session_id}: event chunk format ${chunk.format} is not readable by this version`,
    );
  const out: SessionEvent[] = [];
  for (const line of chunk.events.split('\n')) {
    const v = JSON.parse(line) as unknown[];
    if (!Array.isArray(v) || v.length !== EVENT_FIELDS.length)
      throw new Error(`session ${chunk.session_id}: malformed event in a chunk`);
    out.push({
      session_id: chunk.session_id,
      seq: v[0] as number,
      at: v[1] as number,
      kind: v[2] as string,
      statement: v[3] as string | null,
      param_count: v[4] as number | null,
      command_tag: v[5] as string | null,
      rows: v[6] as number | null,
      duration_ms: v[7] as number | null,
      error: v[8] as string | null,
      data: v[9] as string | null,
    });
  }
  if (out.length !== Number(chunk.count))
    throw new Error(
      `session ${chunk.session_id}: a chunk holds ${out.length} events, its row says ${chunk.count}`,
    );
  return out;
}

/** Column order of the dialects' bulk inserts of chunks. */
export const CHUNK_COLUMNS = ['session_id', 'first_seq', 'last_seq', 'count', 'format', 'events'] as const;

export function chunkTuple(c: Insertable<SessionEventChunksTable>): unknown[] {
  return [c.session_id, c.first_seq, c.last_seq, c.count, c.format, c.events];
}
