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
    const line = JSON.stringify([
      r.seq,
      r.at,
      r.kind,
      r.statement ?? null,
      r.param_count ?? null,
      r.command_tag ?? null,
      r.rows ?? null,
      r.duration_ms ?? null,
      r.error ?? null,
      r.data ?? null,
    ]);
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
