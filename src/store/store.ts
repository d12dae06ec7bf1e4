import type { Insertable, Kysely, Transaction } from 'kysely';
import type { Database, SessionEventsTable } from './schema.types.js';

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
   * Appends statement events in one write. This is the broker's hottest write (one row per SQL
   * statement relayed), so each dialect uses a statement it prepares once instead of building a
   * multi-row insert per batch.
   */
  appendSessionEvents(rows: readonly Insertable<SessionEventsTable>[]): Promise<void>;
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
export async function openStore(url: string, options: { baseDir?: string } = {}): Promise<Store> {
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    const { openPostgresStore } = await import('./postgres.js');
    return openPostgresStore(url);
  }
  if (url.startsWith('sqlite:')) {
    const { openSqliteStore, sqlitePath } = await import('./sqlite.js');
    return openSqliteStore(sqlitePath(url, options.baseDir));
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

/** Column order shared by the dialects' bulk inserts of session events. */
export const SESSION_EVENT_COLUMNS = [
  'session_id',
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
