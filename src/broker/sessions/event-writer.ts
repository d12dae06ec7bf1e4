import type { Insertable } from 'kysely';
import type { Logger } from 'pino';
import type { SessionEventsTable } from '../../store/schema.types.js';
import type { Store } from '../../store/store.js';

export type SessionEventRow = Insertable<SessionEventsTable>;

export interface SessionEventWriterOptions {
  /** Longest an event waits in memory before it is written. */
  flushIntervalMs?: number;
  /** A batch this large is written at once. */
  maxBatch?: number;
}

/**
 * Collects statement events of every session and writes them in batches, so the relay
 * never waits for the store: `push` is synchronous and cheap, writes happen on a timer.
 */
export class SessionEventWriter {
  readonly #store: Store;
  readonly #log: Logger;
  readonly #interval: number;
  readonly #maxBatch: number;
  #pending: SessionEventRow[] = [];
  #timer: NodeJS.Timeout | undefined;
  #writing: Promise<void> = Promise.resolve();

  constructor(store: Store, log: Logger, options: SessionEventWriterOptions = {}) {
    this.#store = store;
    this.#log = log;
    this.#interval = options.flushIntervalMs ?? 200;
    this.#maxBatch = options.maxBatch ?? 400;
  }

  push(row: SessionEventRow): void {
    this.#pending.push(row);
    if (this.#pending.length >= this.#maxBatch) void this.flush();
    else this.#timer ??= setTimeout(() => void this.flush(), this.#interval).unref();
  }

  /** Writes everything queued so far; resolves when it is in the store. */
  flush(): Promise<void> {
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    const batch = this.#pending;
    this.#pending = [];
    // Writes are chained so events reach the store in the order they happened.
    this.#writing = this.#writing.then(() => (batch.length > 0 ? this.#write(batch) : undefined));
    return this.#writing;
  }

  async #write(batch: SessionEventRow[]): Promise<void> {
    try {
      for (let i = 0; i < batch.length; i += this.#maxBatch) {
        await this.#store.appendSessionEvents(batch.slice(i, i + this.#maxBatch));
      }
    } catch (err) {
      this.#log.error({ err, events: batch.length }, 'could not record session events');
    }
  }
}
