import type { Insertable } from 'kysely';
import type { Logger } from 'pino';
import type { SessionEventChunksTable, SessionEventsTable } from '../../store/schema.types.js';
import { SessionEventBatch } from '../../store/session-event-chunks.js';
import type { Store } from '../../store/store.js';

export type SessionEventRow = Insertable<SessionEventsTable>;

export interface SessionEventWriterOptions {
  /** Longest an event waits in memory before it is written. */
  flushIntervalMs?: number;
  /**
   * A batch this large is written at once (default 2000). Larger batches mean fewer and longer
   * stored chunks (one per session per batch), and a chunk's cost is mostly per row: inserting
   * 8 sessions' events into SQLite costs about 1.0 µs per event at 50 events per chunk and 0.8 µs
   * at 125 (pgbench-shaped lines). Below 10 000 statements a second the flush interval ends a batch.
   */
  maxBatch?: number;
  /** Wait before writing a refused batch again; it doubles with each refusal, up to retryMaxMs. */
  retryMs?: number;
  retryMaxMs?: number;
  /** Events held in memory (queued or refused) above which new ones are dropped, and counted. */
  maxHeld?: number;
}

/**
 * Collects statement events of every session and writes them in batches, so the relay
 * never waits for the store: `push` is synchronous and cheap, writes happen on a timer.
 *
 * A batch the store refuses (a locked file, a database restarting) is written again, with a
 * growing wait, until it is stored: the later batches queue behind it, so events still reach
 * the store in order, and a batch that had in fact been committed is not stored twice (chunk
 * inserts ignore a chunk already there). Only `stopRetrying` (the broker shutting down) gives
 * up on a store that never comes back, and says how many events were lost. Memory stays
 * bounded through a long outage: above `maxHeld` events held, new ones are dropped and the
 * count is logged when it starts and once the store accepts events again.
 */
export class SessionEventWriter {
  readonly #store: Store;
  readonly #log: Logger;
  readonly #interval: number;
  readonly #maxBatch: number;
  readonly #retryMs: number;
  readonly #retryMaxMs: number;
  readonly #maxHeld: number;
  /** Events pushed and not yet stored or given up on. */
  #held = 0;
  #dropped = 0;
  /** The batch being filled: each event is written into its session's chunk as it is pushed. */
  #pending = new SessionEventBatch();
  #timer: NodeJS.Timeout | undefined;
  #writing: Promise<void> = Promise.resolve();
  /** When set, a refused batch is retried until this time (ms since epoch) and then dropped. */
  #giveUpAt = Number.POSITIVE_INFINITY;
  /** Ends the wait before the next retry early (set while waiting). */
  #wake: (() => void) | null = null;

  constructor(store: Store, log: Logger, options: SessionEventWriterOptions = {}) {
    this.#store = store;
    this.#log = log;
    this.#interval = options.flushIntervalMs ?? 200;
    this.#maxBatch = options.maxBatch ?? 2000;
    this.#retryMs = options.retryMs ?? 250;
    this.#retryMaxMs = options.retryMaxMs ?? 10_000;
    this.#maxHeld = options.maxHeld ?? 200_000;
  }

  push(row: SessionEventRow): void {
    if (this.#held >= this.#maxHeld) {
      if (this.#dropped++ === 0)
        this.#log.error(
          { held: this.#held },
          'session events dropped: the store has refused them for so long that memory is full',
        );
      return;
    }
    try {
      this.#pending.add(row);
    } catch (err) {
      // A session's events out of order: a bug in the caller, not a reason to lose the batch.
      this.#log.error({ err }, 'session event dropped');
      return;
    }
    this.#held++;
    if (this.#pending.events >= this.#maxBatch) void this.flush();
    else this.#timer ??= setTimeout(() => void this.flush(), this.#interval).unref();
  }

  /** Writes everything queued so far; resolves when it is in the store (or given up on). */
  flush(): Promise<void> {
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    const batch = this.#pending;
    if (batch.events === 0) return this.#writing;
    this.#pending = new SessionEventBatch();
    const chunks = batch.chunks();
    // Writes are chained so events reach the store in the order they happened.
    this.#writing = this.#writing.then(() => this.#write(chunks, batch.events));
    return this.#writing;
  }

  /** From now on, a batch the store keeps refusing is dropped after `graceMs` (at shutdown). */
  stopRetrying(graceMs: number): void {
    this.#giveUpAt = Math.min(this.#giveUpAt, Date.now() + graceMs);
    this.#wake?.();
  }

  async #write(chunks: Insertable<SessionEventChunksTable>[], events: number): Promise<void> {
    try {
      await this.#writeAll(chunks, events);
    } finally {
      this.#held -= events;
    }
  }

  async #writeAll(chunks: Insertable<SessionEventChunksTable>[], events: number): Promise<void> {
    for (let refusals = 0; ; ) {
      try {
        await this.#store.appendSessionEventChunks(chunks);
        if (refusals > 0) this.#log.info({ events, refusals }, 'session events recorded after retrying');
        if (this.#dropped > 0) {
          this.#log.error(
            { events: this.#dropped },
            'session events were dropped while the store refused them',
          );
          this.#dropped = 0;
        }
        return;
      } catch (err) {
        refusals++;
        const now = Date.now();
        if (now >= this.#giveUpAt) {
          this.#log.error({ err, events }, 'session events lost: the store refused them until shutdown');
          return;
        }
        const wait = Math.min(this.#retryMs * 2 ** (refusals - 1), this.#retryMaxMs, this.#giveUpAt - now);
        // The first refusal is an error worth a page; the retries that follow are noted.
        this.#log[refusals === 1 ? 'error' : 'warn'](
          { err, events, refusals, retry_in_ms: wait },
          'could not record session events; writing them again',
        );
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, wait);
          this.#wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.#wake = null;
      }
    }
  }
}
