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

interface OpenChunk {
  session_id: string;
  first: number;
  last: number;
  count: number;
  lines: string;
}

/**
 * Groups events by session into chunks, one stored row per session per batch (more when a
 * session's events exceed CHUNK_MAX_CHARS): the relay records every statement, and a database
 * row per statement cost more than relaying the statement did. Each chunk is JSON lines (JSON
 * escapes newlines inside strings), readable without gatectl. Order within a session is kept;
 * a session's chunks are returned in order.
 */
export function chunkSessionEvents(
  rows: readonly SessionEventInput[],
): Insertable<SessionEventChunksTable>[] {
  const open = new Map<string, OpenChunk>();
  const done: OpenChunk[] = [];
  for (const r of rows) {
    const line = eventLine(r);
    const c = open.get(r.session_id);
    if (c && r.seq <= c.last)
      throw new Error(`session ${r.session_id}: event ${r.seq} follows event ${c.last} in one batch`);
    if (c && c.lines.length + line.length < CHUNK_MAX_CHARS) {
      c.last = r.seq;
      c.count++;
      c.lines += `\n${line}`;
    } else {
      if (c) done.push(c);
      open.set(r.session_id, { session_id: r.session_id, first: r.seq, last: r.seq, count: 1, lines: line });
    }
  }
  done.push(...open.values());
  return done.map((c) => ({
    session_id: c.session_id,
    first_seq: c.first,
    last_seq: c.last,
    count: c.count,
    format: CHUNK_FORMAT,
    events: c.lines,
  }));
}

/**
 * One event's line: exactly `JSON.stringify` of its fields in EVENT_FIELDS order, built by hand
 * because the relay records every statement and the generic stringifier was the largest single
 * cost of recording one (about 13 % of the broker's instructions under pgbench, by callgrind),
 * much of it in turning the timestamp and the duration, which are not small integers, into text.
 */
export function eventLine(r: SessionEventInput): string {
  return `[${jsonNumber(r.seq)},${jsonTimestamp(r.at)},${jsonString(r.kind)},${statementJson(r.statement)},${jsonNumber(r.param_count)},${jsonString(r.command_tag)},${jsonNumber(r.rows)},${jsonMillis(r.duration_ms)},${jsonString(r.error)},${jsonString(r.data)}]`;
}

/**
 * The last statement written and its JSON. Sessions mostly repeat a few statements (a pgbench
 * or an application's prepared ones), and comparing two equal flat strings is cheaper than
 * scanning one for characters to escape. Only short statements are kept, so a huge one is not
 * held after its event.
 */
let lastStatement: string | null = null;
let lastStatementJson = 'null';
const CACHED_STATEMENT_MAX = 4096;

function statementJson(s: string | null | undefined): string {
  if (s === lastStatement) return lastStatementJson;
  const json = jsonString(s);
  if (s !== undefined && (s === null || s.length <= CACHED_STATEMENT_MAX)) {
    lastStatement = s;
    lastStatementJson = json;
  }
  return json;
}

function jsonNumber(n: number | null | undefined): string {
  return n === null || n === undefined || !Number.isFinite(n) ? 'null' : `${n}`;
}

/** Epoch milliseconds, written as two small integers (each converts without the double-to-text path). */
function jsonTimestamp(ms: number): string {
  if (!Number.isSafeInteger(ms) || ms < 1e6) return jsonNumber(ms);
  const high = Math.floor(ms / 1e6);
  return `${high}${`${ms - high * 1e6 + 1e6}`.slice(1)}`;
}

/**
 * A duration the tracker rounded to the microsecond, written from its whole microseconds. Below
 * 2^31 µs a number with at most three decimals has no shorter form that reads back the same, so
 * this is the text JSON.stringify would give; anything else goes the generic way.
 */
function jsonMillis(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return 'null';
  const us = Math.round(ms * 1000);
  if (us < 0 || us >= 2 ** 31 || us / 1000 !== ms) return jsonNumber(ms);
  const whole = Math.floor(us / 1000);
  let frac = us - whole * 1000;
  if (frac === 0) return `${whole}`;
  let digits = 3;
  while (frac % 10 === 0) {
    frac /= 10;
    digits--;
  }
  return `${whole}.${`${frac}`.padStart(digits, '0')}`;
}

/** A string as JSON; most need no escaping (no quote, backslash, control or surrogate character). */
function jsonString(s: string | null | undefined): string {
  if (s === null || s === undefined) return 'null';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c || (c >= 0xd800 && c <= 0xdfff)) return JSON.stringify(s);
  }
  return `"${s}"`;
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
