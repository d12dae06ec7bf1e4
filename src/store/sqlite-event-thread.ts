import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/**
 * Rows per transaction in the thread. A row is one session's events of one batch (up to a few
 * hundred), so this bounds how long the broker's own connection may wait for the write lock.
 */
const TRANSACTION_ROWS = 20;

/** One row's values, in the order of the insert statement's parameters. */
export type EventTuple = unknown[];

/**
 * The worker's program, as CommonJS evaluated in the thread (a separate file would have to
 * exist both as TypeScript for the tests and as JavaScript for the build). It opens its own
 * connection to the database file and inserts each batch it is sent in one transaction.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
let db = null;
let insert = null;
// Opened on the first batch, and again on the next one after a failure to open (a file not
// ready yet, a schema being changed): the broker retries refused batches, so must this.
function open() {
  if (insert) return null;
  try {
    db = db || new Database(workerData.path);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('busy_timeout = 5000');
    const st = db.prepare(workerData.sql);
    insert = db.transaction((rows) => { for (const r of rows) st.run(r); });
    return null;
  } catch (err) {
    return String(err && err.message || err);
  }
}
// At once, so the thread is ready (and its size known) before the first batch; a failure here
// is reported, and opening retried, with that batch.
open();
parentPort.on('message', (m) => {
  if (m.close) { try { db && db.close(); } catch {} parentPort.postMessage({ id: m.id }); return; }
  const failure = open();
  if (failure !== null) { parentPort.postMessage({ id: m.id, error: 'cannot open the store: ' + failure }); return; }
  try {
    // Short transactions: the broker's own connection waits (asleep, event loop blocked) while
    // this one holds the write lock, so it is never held for a whole large batch.
    for (let i = 0; i < m.rows.length; i += workerData.chunk) insert(m.rows.slice(i, i + workerData.chunk));
    parentPort.postMessage({ id: m.id });
  }
  catch (err) { parentPort.postMessage({ id: m.id, error: String(err && err.message || err) }); }
});
`;

/**
 * Writes session event chunks from a worker thread. A batch of chunks costs about a
 * millisecond of synchronous inserting and committing: on the event loop that would delay
 * every session's bytes, in a thread it overlaps with them. The loop only copies each batch
 * over (as tuples, which clone cheaply). Batches are written in the order sent; `append`
 * resolves once its batch is committed, so a read after it sees the rows.
 */
export class SqliteEventThread {
  readonly #worker: Worker;
  readonly #pending = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  #nextId = 1;
  #closed: Promise<void> | null = null;
  #dead: Error | null = null;

  /** `sql` inserts one row from its positional parameters. */
  constructor(path: string, sql: string) {
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    this.#worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { path, sql, driver, chunk: TRANSACTION_ROWS },
    });
    // Idle, it must not keep the process alive; close() ends it.
    this.#worker.unref();
    this.#worker.on('message', (m: { id: number; error?: string }) => {
      const p = this.#pending.get(m.id);
      if (!p) return;
      this.#pending.delete(m.id);
      if (m.error) p.reject(new Error(m.error));
      else p.resolve();
    });
    const fail = (err: Error) => {
      this.#dead = err;
      for (const p of this.#pending.values()) p.reject(err);
      this.#pending.clear();
    };
    this.#worker.on('error', fail);
    this.#worker.on('exit', (code) => {
      if (!this.#closed) fail(new Error(`the session event writer thread exited (code ${code})`));
    });
  }

  append(rows: EventTuple[]): Promise<void> {
    if (this.#dead) return Promise.reject(this.#dead);
    if (this.#closed) return Promise.reject(new Error('the store is closed'));
    return this.#send({ rows });
  }

  #send(message: { rows?: EventTuple[]; close?: true }): Promise<void> {
    const id = this.#nextId++;
    return new Promise<void>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      // While a batch is in flight the thread keeps the process alive, so it is not lost.
      this.#worker.ref();
      this.#worker.postMessage({ id, ...message });
    }).finally(() => {
      if (this.#pending.size === 0) this.#worker.unref();
    });
  }

  /** Waits for the batches sent so far, closes the thread's connection and ends the thread. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      if (!this.#dead) await this.#send({ close: true }).catch(() => {});
      await this.#worker.terminate();
    })();
    return this.#closed;
  }
}
