import { newId } from '../../lib/ids.js';
import type {
  SessionEndInfo,
  SessionHooks,
  SessionStartInfo,
  StatementEvent,
} from '../../proxy/postgres/engine.types.js';
import type { BrokerContext } from '../context.js';
import type { SessionEventWriter } from './event-writer.js';

export interface SessionSubject {
  identity: string;
  target: string;
  grantId: string;
  tunnelId: string;
  /** Address of the CLI as the broker sees it (the origin of the session). */
  origin: string | null;
  /** Address of the local client as the CLI reports it. */
  localAddr: string | null;
}

/** What ended a session, when the broker rather than a peer ended it. */
export interface EndOverride {
  code: string;
}

/**
 * Persists one client connection as a `sessions` row plus one `session_events` row per statement,
 * and the `session.start` / `session.end` audit events (DESIGN §6). The row is written when the
 * engine reports a started session (after authentication); a connection that never starts one
 * (a CancelRequest, a wrong secret) leaves no session.
 */
export class SessionRecorder {
  readonly id = newId('se');
  readonly #ctx: BrokerContext;
  readonly #events: SessionEventWriter;
  readonly #subject: SessionSubject;
  #seq = 0;
  #started: Promise<void> | undefined;
  #ended: Promise<void> | undefined;
  #startedAt = 0;
  #statements = 0;
  #override: EndOverride | undefined;

  constructor(ctx: BrokerContext, events: SessionEventWriter, subject: SessionSubject) {
    this.#ctx = ctx;
    this.#events = events;
    this.#subject = subject;
  }

  get started(): boolean {
    return this.#started !== undefined;
  }

  /** Records why the broker is ending the session; wins over the engine's own reason. */
  setEndReason(code: string): void {
    // Once the session has ended, what ended it is settled: a tunnel closed a moment later (the
    // CLI tearing down after psql quit) did not end this session.
    if (this.#ended) return;
    this.#override ??= { code };
  }

  readonly hooks: SessionHooks = {
    onStart: (info) => this.#start(info),
    onStatement: (event) => this.#statement(event),
    onEnd: (info) => this.end(info),
  };

  #start(info: SessionStartInfo): Promise<void> {
    if (this.#started) return this.#started;
    this.#startedAt = this.#ctx.now();
    const s = this.#subject;
    this.#started = (async () => {
      await this.#ctx.store.db
        .insertInto('sessions')
        .values({
          id: this.id,
          tunnel_id: s.tunnelId,
          grant_id: s.grantId,
          identity: s.identity,
          target: s.target,
          protocol: 'postgres',
          client_addr: s.origin,
          client_tool: info.applicationName || null,
          started_at: this.#startedAt,
          ended_at: null,
          bytes_in: 0,
          bytes_out: 0,
          end_reason: null,
          recording_digest: null,
        })
        .execute();
      await this.#ctx.audit({
        type: 'session.start',
        actor: s.identity,
        origin: s.origin,
        resource: s.target,
        data: {
          session_id: this.id,
          tunnel_id: s.tunnelId,
          grant_id: s.grantId,
          protocol: 'postgres',
          client_tool: info.applicationName || null,
          local_addr: s.localAddr,
          database: info.database,
        },
      });
    })();
    return this.#started;
  }

  #statement(e: StatementEvent): void {
    this.#statements++;
    this.#events.push({
      session_id: this.id,
      seq: ++this.#seq,
      at: this.#ctx.now(),
      kind: 'statement',
      statement: e.statement,
      param_count: e.paramCount,
      command_tag: e.commandTag,
      rows: e.rows,
      duration_ms: e.durationMs,
      error: e.error,
      data: null,
    });
  }

  /** Closes the record (idempotent); a no-op when the session never started. */
  end(info: SessionEndInfo): Promise<void> {
    if (!this.#started) {
      // A client that did not prove it holds the tunnel's secret: an invalid access attempt.
      if (info.reason === 'authentication failed' && !this.#ended) {
        this.#ended = this.#ctx
          .audit({
            type: 'auth.failure',
            actor: this.#subject.identity,
            outcome: 'failure',
            origin: this.#subject.origin,
            resource: this.#subject.target,
            data: {
              reason: 'wrong_tunnel_secret',
              credential: 'tunnel_secret',
              tunnel_id: this.#subject.tunnelId,
              local_addr: this.#subject.localAddr,
            },
          })
          .then(() => {});
      }
      return this.#ended ?? Promise.resolve();
    }
    if (this.#ended) return this.#ended;
    // Why and when it ended are taken now, not after the writes below. A client that sent
    // Terminate ended the session itself, even if the broker was ending it at the same moment.
    const reason = info.reason === 'client terminated' ? info.reason : (this.#override?.code ?? info.reason);
    const now = this.#ctx.now();
    this.#ended = (async () => {
      await this.#started!.catch(() => {});
      await this.#events.flush();
      await this.#ctx.store.db
        .updateTable('sessions')
        .set({ ended_at: now, bytes_in: info.bytesIn, bytes_out: info.bytesOut, end_reason: reason })
        .where('id', '=', this.id)
        .execute();
      await this.#ctx.audit({
        type: 'session.end',
        actor: this.#subject.identity,
        origin: this.#subject.origin,
        resource: this.#subject.target,
        data: {
          session_id: this.id,
          reason,
          bytes_in: info.bytesIn,
          bytes_out: info.bytesOut,
          statements: this.#statements,
          duration_ms: now - this.#startedAt,
        },
      });
    })();
    return this.#ended;
  }
}
