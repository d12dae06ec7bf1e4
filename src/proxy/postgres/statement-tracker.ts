import { rowsFromTag } from './decode.js';
import type { StatementEvent } from './engine.types.js';

/** A request the server has not finished answering, in the order the client sent them. */
interface Pending {
  /** A simple Query or an Execute record a statement; a Sync or FunctionCall only ends with ReadyForQuery. */
  kind: 'query' | 'execute' | 'sync';
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
 * The server answers requests in the order it got them, so what was sent is one queue: a
 * client may pipeline several Queries, or several Executes and Syncs. After an ErrorResponse
 * to an Execute the server discards the rest until the next Sync, so those produce no event.
 * @see https://www.postgresql.org/docs/current/protocol-flow.html#PROTOCOL-FLOW-PIPELINING
 */
export class StatementTracker {
  readonly #emit: (event: StatementEvent) => void;
  readonly #now: () => number;
  readonly #pending: Pending[] = [];
  readonly #statements = new Map<string, string>();
  readonly #portals = new Map<string, Portal>();

  constructor(emit: (event: StatementEvent) => void, now: () => number = () => performance.now()) {
    this.#emit = emit;
    this.#now = now;
  }

  /** Whether the server still owes an answer: a query, Execute or Sync it has not finished. */
  get busy(): boolean {
    return this.#pending.length > 0;
  }

  query(text: string): void {
    this.#push('query', text, 0);
  }

  /** A Sync, or a FunctionCall: answered by ReadyForQuery, recorded as no statement. */
  sync(): void {
    this.#push('sync', '', 0);
  }

  parse(name: string, text: string): void {
    this.#statements.set(name, text);
  }

  bind(portal: string, statement: string, paramCount: number): void {
    this.#portals.set(portal, { statement: this.#statements.get(statement) ?? '', paramCount });
  }

  execute(portal: string): void {
    const p = this.#portals.get(portal);
    this.#push('execute', p?.statement ?? '', p?.paramCount ?? 0);
  }

  /** Close of a statement (`S`) or portal (`P`). */
  close(kind: number, name: string): void {
    if (kind === 0x53) this.#statements.delete(name);
    else this.#portals.delete(name);
  }

  commandComplete(tag: string): void {
    const head = this.#pending[0];
    if (head?.kind === 'execute') {
      this.#pending.shift();
      head.commandTag = tag;
      head.rows = rowsFromTag(tag);
      this.#finish(head);
    } else if (head?.kind === 'query') {
      head.commandTag = tag;
      head.rows = rowsFromTag(tag);
    }
  }

  /** EmptyQueryResponse or PortalSuspended: the Execute ended without a tag. */
  executeEnded(): void {
    if (this.#pending[0]?.kind !== 'execute') return;
    this.#finish(this.#pending.shift()!);
  }

  error(sqlstate: string, message: string): void {
    const text = `${sqlstate}: ${message}`;
    const head = this.#pending[0];
    if (head?.kind === 'query') {
      head.error = text;
      return;
    }
    if (head?.kind !== 'execute') return;
    this.#pending.shift();
    head.error = text;
    this.#finish(head);
    // The server skips what follows up to the next Sync.
    while (this.#pending[0]?.kind === 'execute') this.#pending.shift();
  }

  readyForQuery(): void {
    // Executes still ahead of the Query or Sync this answers were skipped by the server.
    for (let head = this.#pending.shift(); head; head = this.#pending.shift()) {
      if (head.kind === 'query') this.#finish(head);
      if (head.kind !== 'execute') return;
    }
  }

  #push(kind: Pending['kind'], statement: string, paramCount: number): void {
    this.#pending.push({
      kind,
      statement,
      paramCount,
      start: kind === 'sync' ? 0 : this.#now(),
      commandTag: null,
      rows: null,
      error: null,
    });
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
