import { rowsFromTag } from './decode.js';
import type { StatementEvent } from './engine.types.js';

interface Pending {
  statement: string;
  paramCount: number;
  start: number;
  commandTag: string | null;
  rows: number | null;
  error: string | null;
}

interface Portal {
  statement: string;
  paramCount: number;
}

/**
 * Turns the observed protocol into one StatementEvent per executed statement: a simple Query
 * (completed by ReadyForQuery, with the last CommandComplete's tag), or an extended-protocol
 * Execute (completed by its CommandComplete, EmptyQueryResponse, PortalSuspended or error).
 * Executes are queued in order because a client may pipeline several before a Sync; after an
 * ErrorResponse the server discards the rest until Sync, so those produce no event.
 * @see https://www.postgresql.org/docs/current/protocol-flow.html#PROTOCOL-FLOW-EXT-QUERY
 */
export class StatementTracker {
  readonly #emit: (event: StatementEvent) => void;
  readonly #now: () => number;
  #simple: Pending | null = null;
  readonly #executes: Pending[] = [];
  readonly #statements = new Map<string, string>();
  readonly #portals = new Map<string, Portal>();

  constructor(emit: (event: StatementEvent) => void, now: () => number = () => performance.now()) {
    this.#emit = emit;
    this.#now = now;
  }

  /** Whether an Execute was sent whose end has not come back yet. */
  get executing(): boolean {
    return this.#executes.length > 0;
  }

  query(text: string): void {
    this.#simple = {
      statement: text,
      paramCount: 0,
      start: this.#now(),
      commandTag: null,
      rows: null,
      error: null,
    };
  }

  parse(name: string, text: string): void {
    this.#statements.set(name, text);
  }

  bind(portal: string, statement: string, paramCount: number): void {
    this.#portals.set(portal, { statement: this.#statements.get(statement) ?? '', paramCount });
  }

  execute(portal: string): void {
    const p = this.#portals.get(portal);
    this.#executes.push({
      statement: p?.statement ?? '',
      paramCount: p?.paramCount ?? 0,
      start: this.#now(),
      commandTag: null,
      rows: null,
      error: null,
    });
  }

  /** Close of a statement (`S`) or portal (`P`). */
  close(kind: number, name: string): void {
    if (kind === 0x53) this.#statements.delete(name);
    else this.#portals.delete(name);
  }

  commandComplete(tag: string): void {
    const head = this.#executes.shift();
    if (head) {
      head.commandTag = tag;
      head.rows = rowsFromTag(tag);
      this.#finish(head);
    } else if (this.#simple) {
      this.#simple.commandTag = tag;
      this.#simple.rows = rowsFromTag(tag);
    }
  }

  /** EmptyQueryResponse or PortalSuspended: the Execute ended without a tag. */
  executeEnded(): void {
    const head = this.#executes.shift();
    if (head) this.#finish(head);
  }

  error(sqlstate: string, message: string): void {
    const text = `${sqlstate}: ${message}`;
    const head = this.#executes.shift();
    if (head) {
      head.error = text;
      this.#finish(head);
      this.#executes.length = 0;
    } else if (this.#simple) {
      this.#simple.error = text;
    }
  }

  readyForQuery(): void {
    this.#executes.length = 0;
    const simple = this.#simple;
    this.#simple = null;
    if (simple) this.#finish(simple);
  }

  #finish(p: Pending): void {
    this.#emit({
      statement: p.statement,
      paramCount: p.paramCount,
      commandTag: p.commandTag,
      rows: p.rows,
      // Microseconds are the clock's honest resolution here, and a short number is cheaper to store.
      durationMs: Math.round(Math.max(0, this.#now() - p.start) * 1000) / 1000,
      error: p.error,
    });
  }
}
