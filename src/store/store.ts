import type { Insertable, Kysely, Transaction } from 'kysely';
import type { Database, SessionEventChunksTable } from './schema.types.js';
import { decodeSessionEventChunk, EVENT_FIELDS, type SessionEvent } from './session-event-chunks.js';
import type { SqliteStoreOptions } from './sqlite.js';

export type StoreDialect = 'sqlite' | 'postgres';

/**
 * The broker's state. Two implementations pass one test suite: SQLite (one file, WAL; the
 * default) and PostgreSQL (several broker replicas sharing state).
 */
export interface Store {
  readonly dialect: StoreDialect;
  readonly db: Kysely<Database>;
  /**
   * Subscribes to a channel. SQLite: delivered in-process to every store opened on the same file.
   * PostgreSQL: LISTEN/NOTIFY, so a notification from one replica reaches every other.
   */
  listen(channel: string, handler: (payload: string) => void): Promise<() => Promise<void>>;
  notify(channel: string, payload: string): Promise<void>;
  /**
   * Stores statement events in one write, as chunks made by a SessionEventBatch (or
   * `chunkSessionEvents`): this is the broker's hottest write (an event per SQL statement
   * relayed), so the events of each session in a batch are one chunk row
   * (session-event-chunks.ts). A session's chunks must arrive in `seq` order.
   */
  appendSessionEventChunks(chunks: readonly Insertable<SessionEventChunksTable>[]): Promise<void>;
  /** A session's statement events in `seq` order. */
  readSessionEvents(sessionId: string): Promise<SessionEvent[]>;
  /** Runs `fn` in a transaction that holds a named lock across replicas (e.g. the audit chain head). */
  withLock<T>(name: string, fn: (trx: Transaction<Database>) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** The store cannot be opened or used; its message is safe to print. */
export class StoreError extends Error {
  readonly code: string;
  constructor(message: string, options: { code?: string; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = new.target.name;
    this.code = options.code ?? 'store_error';
  }
}

/** Opens a store from `sqlite:///abs/path.db`, `sqlite://./rel.db`, `sqlite::memory:` or `postgres://…`; runs migrations. */
export async function openStore(
  url: string,
  options: { baseDir?: string } & SqliteStoreOptions = {},
): Promise<Store> {
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    const { openPostgresStore } = await import('./postgres.js');
    return openPostgresStore(url);
  }
  if (url.startsWith('sqlite:')) {
    const { openSqliteStore, sqlitePath } = await import('./sqlite.js');
    return openSqliteStore(sqlitePath(url, options.baseDir), options);
  }
  throw new StoreError(`unsupported store URL (expected sqlite:///path/to/file.db or postgres://…)`, {
    code: 'store_url',
  });
}

/** A URL with its password replaced, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
  }
}

/**
 * A session's events from both places they can be: chunks, and the one-row-per-event table
 * that stores created before migration 0002 wrote to.
 */
export async function readSessionEventsFrom(
  db: Kysely<Database>,
  sessionId: string,
): Promise<SessionEvent[]> {
  const chunks = await db
    .selectFrom('session_event_chunks')
    .select(['session_id', 'format', 'count', 'events'])
    .where('session_id', '=', sessionId)
    .orderBy('first_seq')
    .execute();
  const events = chunks.flatMap(decodeSessionEventChunk);
  const older = await db
    .selectFrom('session_events')
    .select(['session_id', ...EVENT_FIELDS])
    .where('session_id', '=', sessionId)
    .orderBy('seq')
    .execute();
  if (older.length === 0) return events;
  const all = [
    ...older.map((r) => ({
      ...r,
      seq: Number(r.seq),
      at: Number(r.at),
      rows: r.rows === null ? null : Number(r.rows),
    })),
    ...events,
  ];
  return all.sort((a, b) => a.seq - b.seq);
}
