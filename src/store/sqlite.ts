import { EventEmitter } from 'node:events';
import { mkdirSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { CompiledQuery, type DatabaseConnection, type Driver, Kysely, SqliteDialect } from 'kysely';
import { migrate } from './migrations.js';
import type { Database } from './schema.types.js';
import { CHUNK_COLUMNS, chunkTuple } from './session-event-chunks.js';
import { SqliteEventThread } from './sqlite-event-thread.js';
import { readSessionEventsFrom, type Store, StoreError } from './store.js';

/** A chunk already stored (a batch written again after a failure that had in fact committed) is kept as it is. */
const CHUNK_INSERT_SQL = `insert into session_event_chunks (${CHUNK_COLUMNS.join(', ')}) values (${CHUNK_COLUMNS.map(() => '?').join(', ')}) on conflict (session_id, first_seq) do nothing`;

/** One emitter per database file: every store opened on that file in this process hears its notifications. */
const channels = new Map<string, EventEmitter>();

export function sqlitePath(url: string, baseDir = process.cwd()): string {
  if (url === 'sqlite::memory:' || url === 'sqlite://:memory:') return ':memory:';
  let p = url.replace(/^sqlite:(\/\/)?/, '');
  if (p.startsWith('/') || isAbsolute(p)) return p;
  p = p.replace(/^\.\//, '');
  return resolve(baseDir, p);
}

/**
 * Transactions take the write lock when they begin (`BEGIN IMMEDIATE`). A deferred transaction
 * that reads first and another connection (the event thread) commits before it writes would
 * fail at once with SQLITE_BUSY_SNAPSHOT, which no busy timeout retries; an immediate one
 * waits for the lock (busy_timeout) and then reads the latest state.
 */
class ImmediateSqliteDialect extends SqliteDialect {
  override createDriver(): Driver {
    const driver = super.createDriver();
    driver.beginTransaction = async (connection: DatabaseConnection) => {
      await connection.executeQuery(CompiledQuery.raw('begin immediate'));
    };
    return driver;
  }
}

export interface SqliteStoreOptions {
  /**
   * Start the thread that writes session events now, with its own connection open, instead of
   * on the first event: a broker does, so its memory and start-up cost are paid at start (and
   * seen in its resting size), not by the first sessions. Short-lived users leave it off.
   */
  startEventThread?: boolean;
}

export async function openSqliteStore(path: string, options: SqliteStoreOptions = {}): Promise<Store> {
  let handle: BetterSqlite3.Database;
  try {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    handle = new BetterSqlite3(path);
    handle.pragma('journal_mode = WAL');
    handle.pragma('synchronous = NORMAL');
    handle.pragma('foreign_keys = ON');
    handle.pragma('busy_timeout = 5000');
    // Fails fast on a file that is not a database instead of at the first query.
    handle.prepare('select count(*) from sqlite_master').get();
  } catch (err) {
    throw new StoreError(`cannot open the SQLite store at ${path}: ${(err as Error).message}`, {
      code: 'store_unavailable',
      cause: err,
    });
  }
  const db = new Kysely<Database>({ dialect: new ImmediateSqliteDialect({ database: handle }) });
  await migrate(db, 'sqlite');
  const key = path === ':memory:' ? `memory:${Math.random()}` : path;
  let emitter = channels.get(key);
  if (!emitter) {
    emitter = new EventEmitter();
    emitter.setMaxListeners(0);
    channels.set(key, emitter);
  }
  const ee = emitter;
  const insertChunk = handle.prepare(CHUNK_INSERT_SQL);
  // better-sqlite3 is synchronous: the whole batch runs before any other query of this process,
  // inside its own transaction (a savepoint when a Kysely transaction happens to be open).
  const insertChunks = handle.transaction((chunks: unknown[][]) => {
    for (const c of chunks) insertChunk.run(c);
  });
  // A file database takes session events from its own thread; an in-memory one (tests, a
  // throwaway broker) cannot be shared with a thread and writes them here.
  let eventThread: SqliteEventThread | null =
    options.startEventThread && path !== ':memory:' ? new SqliteEventThread(path, CHUNK_INSERT_SQL) : null;
  return {
    dialect: 'sqlite',
    db,
    async appendSessionEventChunks(chunkRows) {
      if (chunkRows.length === 0) return;
      const chunks = chunkRows.map(chunkTuple);
      if (path === ':memory:') {
        insertChunks(chunks);
        return;
      }
      eventThread ??= new SqliteEventThread(path, CHUNK_INSERT_SQL);
      await eventThread.append(chunks);
    },
    readSessionEvents(sessionId) {
      return readSessionEventsFrom(db, sessionId);
    },
    async listen(channel, handler) {
      const h = (payload: string) => handler(payload);
      ee.on(channel, h);
      return async () => {
        ee.off(channel, h);
      };
    },
    async notify(channel, payload) {
      // Asynchronous like NOTIFY: listeners run after the caller's transaction has returned.
      setImmediate(() => ee.emit(channel, payload));
    },
    async withLock(_name, fn) {
      // One connection, serialised by Kysely's driver: a transaction is already exclusive.
      return db.transaction().execute(fn);
    },
    async close() {
      await eventThread?.close();
      await db.destroy();
    },
  };
}
