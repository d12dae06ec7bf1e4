import { rowsFromTag } from './decode.js';
import type { StatementEvent } from './engine.types.js';

/**
 * Kinds of request the server has not finished answering. A simple Query or an Execute records a
 * statement; a Sync or FunctionCall only ends with ReadyForQuery.
 */
const QUERY = 0;
const EXECUTE = 1;
const SYNC = 2;

/** Requests answered before the queue's arrays are moved back to their start while never empty. */
const COMPACT_AT = 1024;

interface Portal {
  statement: string;
  paramCount: number;
}

/**
 * Turns the observed protocol into one StatementEvent per executed statement: a simple Query
 * (completed by ReadyForQuery, with the last CommandComplete's tag), or an extended-protocol
 * Execute (completed by its CommandComplete, EmptyQueryResponse, PortalSuspended or error).
 * The server answers requests in the order it got them, so what was sent is one queue: a
 * client may pipeline several Queries, or several Executes and Syncs. After an ErrorResponse
 * to an Execute the server discards the rest until the next Sync, so those produce no event.
 * @see https://www.postgresql.org/docs/current/protocol-flow.html#PROTOCOL-FLOW-PIPELINING
 */
export class StatementTracker {
  readonly #emit: (event: StatementEvent) => void;
  readonly #now: () => number;
  /**
   * The queue of requests, as parallel arrays from #head to #tail: a statement of every
   * transaction passes through it, and an object per entry (with `shift` to take it) was the
   * tracker's largest cost. Emptied, it starts over at 0, so the arrays stay as long as the
   * deepest pipeline seen.
   */
  readonly #kinds: number[] = [];
  readonly #texts: string[] = [];
  readonly #params: number[] = [];
  readonly #starts: number[] = [];
  readonly #tags: Array<string | null> = [];
  readonly #rows: Array<number | null> = [];
  readonly #errors: Array<string | null> = [];
  #head = 0;
  #tail = 0;
  /** The unnamed statement and portal, which most clients use for every execution, apart from the named ones. */
  #unnamedStatement = '';
  #unnamedPortalStatement = '';
  #unnamedPortalParams = 0;
  readonly #statements = new Map<string, string>();
  readonly #portals = new Map<string, Portal>();

  constructor(emit: (event: StatementEvent) => void, now: () => number = () => performance.now()) {
    this.#emit = emit;
    this.#now = now;
  }

  /** Whether the server still owes an answer: a query, Execute or Sync it has not finished. */
  get busy(): boolean {
    return this.#tail > this.#head;
  }

  query(text: string): void {
    this.#push(QUERY, text, 0);
  }

  /** A Sync, or a FunctionCall: answered by ReadyForQuery, recorded as no statement. */
  sync(): void {
    this.#push(SYNC, '', 0);
  }

  parse(name: string, text: string): void {
    if (name === '') this.#unnamedStatement = text;
    else this.#statements.set(name, text);
  }

  bind(portal: string, statement: string, paramCount: number): void {
    const text = statement === '' ? this.#unnamedStatement : (this.#statements.get(statement) ?? '');
    if (portal === '') {
      this.#unnamedPortalStatement = text;
      this.#unnamedPortalParams = paramCount;
    } else {
      this.#portals.set(portal, { statement: text, paramCount });
    }
  }

  execute(portal: string): void {
    if (portal === '') {
      this.#push(EXECUTE, this.#unnamedPortalStatement, this.#unnamedPortalParams);
      return;
    }
    const p = this.#portals.get(portal);
    this.#push(EXECUTE, p?.statement ?? '', p?.paramCount ?? 0);
  }

  /** Close of a statement (`S`) or portal (`P`). */
  close(kind: number, name: string): void {
    if (kind === 0x53) {
      if (name === '') this.#unnamedStatement = '';
      else this.#statements.delete(name);
    } else if (name === '') {
      this.#unnamedPortalStatement = '';
      this.#unnamedPortalParams = 0;
    } else {
      this.#portals.delete(name);
    }
  }

  /** A CommandComplete, with the row count its tag gives (see rowsFromTag). */
  commandComplete(tag: string, rows: number | null = rowsFromTag(tag)): void {
    const head = this.#head;
    if (head === this.#tail) return;
    const kind = this.#kinds[head];
    if (kind === SYNC) return;
    this.#tags[head] = tag;
    this.#rows[head] = rows;
    if (kind === EXECUTE) this.#finish();
  }

  /** EmptyQueryResponse or PortalSuspended: the Execute ended without a tag. */
  executeEnded(): void {
    if (this.#head < this.#tail && this.#kinds[this.#head] === EXECUTE) this.#finish();
  }

  error(sqlstate: string, message: string): void {
    const head = this.#head;
    if (head === this.#tail) return;
    const kind = this.#kinds[head];
    if (kind === SYNC) return;
    this.#errors[head] = `${sqlstate}: ${message}`;
    if (kind === QUERY) return;
    this.#finish();
    // The server skips what follows up to the next Sync.
    while (this.#head < this.#tail && this.#kinds[this.#head] === EXECUTE) this.#drop();
  }

  readyForQuery(): void {
    // Executes still ahead of the Query or Sync this answers were skipped by the server.
    while (this.#head < this.#tail) {
      const kind = this.#kinds[this.#head];
      if (kind === QUERY) {
        this.#finish();
        return;
      }
      this.#drop();
      if (kind === SYNC) return;
    }
  }

  #push(kind: number, statement: string, paramCount: number): void {
    let i = this.#tail;
    if (i === this.#head) {
      this.#head = 0;
      i = 0;
    } else if (this.#head >= COMPACT_AT) {
      i = this.#compact();
    }
    this.#kinds[i] = kind;
    this.#texts[i] = statement;
    this.#params[i] = paramCount;
    this.#starts[i] = kind === SYNC ? 0 : this.#now();
    this.#tags[i] = null;
    this.#rows[i] = null;
    this.#errors[i] = null;
    this.#tail = i + 1;
  }

  /** Moves the queue to the start of its arrays; returns the new tail. */
  #compact(): number {
    const from = this.#head;
    const n = this.#tail - from;
    for (const a of [
      this.#kinds,
      this.#texts,
      this.#params,
      this.#starts,
      this.#tags,
      this.#rows,
      this.#errors,
    ]) {
      a.copyWithin(0, from, this.#tail);
      a.length = n;
    }
    this.#head = 0;
    this.#tail = n;
    return n;
  }

  /** Takes the head of the queue off without an event. */
  #drop(): void {
    this.#texts[this.#head] = '';
    this.#head++;
  }

  /** Takes the head of the queue off and reports it. */
  #finish(): void {
    const i = this.#head;
    const event: StatementEvent = {
      statement: this.#texts[i]!,
      paramCount: this.#params[i]!,
      commandTag: this.#tags[i]!,
      rows: this.#rows[i]!,
      // Microseconds are the clock's honest resolution here, and a short number is cheaper to store.
      durationMs: Math.round(Math.max(0, this.#now() - this.#starts[i]!) * 1000) / 1000,
      error: this.#errors[i]!,
    };
    this.#drop();
    this.#emit(event);
  }
}
