import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import type { PostgresTargetConfig } from '../../broker/config/schema.js';
import type { Secret } from '../../lib/secret.js';

/**
 * The contract between the tunnel endpoint (which authenticates the HTTP/WebSocket side and
 * finds the grant) and the PostgreSQL engine (which speaks the protocol on both sides).
 * @see DESIGN §5
 */
export interface PostgresSessionOptions {
  target: PostgresTargetConfig;
  /** The broker-held upstream password (absent for trust auth). Never sent anywhere but upstream. */
  upstreamPassword: Secret | undefined;
  /**
   * SCRAM-SHA-256 verifier of the tunnel's one-time secret, in PostgreSQL's stored form
   * `SCRAM-SHA-256$<iterations>:<salt b64>$<StoredKey b64>:<ServerKey b64>`. The client must
   * prove it knows the secret; a wrong one gets SQLSTATE 28P01.
   */
  clientVerifier: string;
  /** Address of the local client as reported by the CLI, for the session record. */
  clientAddr?: string;
  hooks: SessionHooks;
  log: Logger;
  /** Aborted when the grant ends or is revoked; the engine sends FATAL with `signal.reason` (a string) and closes. */
  signal?: AbortSignal;
}

export interface SessionStartInfo {
  /** User name the client sent (informational; the upstream user is the target's). */
  user: string;
  database: string;
  applicationName: string | null;
}

export interface StatementEvent {
  /** SQL text (simple query, or the Parse of an extended-protocol execution). */
  statement: string;
  paramCount: number;
  commandTag: string | null;
  rows: number | null;
  /** From the statement's message to its completion as the broker saw them, to the microsecond. */
  durationMs: number;
  /** `SQLSTATE: message` when the statement failed. */
  error: string | null;
}

export interface SessionEndInfo {
  reason: string;
  bytesIn: number;
  bytesOut: number;
}

/**
 * Callbacks through which the engine reports a session; the tunnel layer persists them.
 * A connection that carries a CancelRequest reports nothing.
 */
export interface SessionHooks {
  /**
   * Once the client proved the tunnel secret, before the engine logs in to the target (which
   * waits for the returned promise; a rejection ends the connection with a generic FATAL).
   */
  onStart(info: SessionStartInfo): void | Promise<void>;
  /** One per simple Query (at its ReadyForQuery) or extended-protocol Execute (at its completion). */
  onStatement(event: StatementEvent): void;
  /**
   * Exactly once per StartupMessage connection, also when authentication failed (then without
   * a preceding onStart). `reason` is one of `client terminated`, `client disconnected`,
   * `authentication failed`, `upstream closed`, `upstream connection failed`,
   * `grant ended: <signal.reason>`, `message too large`, `protocol violation`,
   * `upstream protocol violation`, `internal error`, `rejected: <message>`.
   */
  onEnd(info: SessionEndInfo): void | Promise<void>;
}

/**
 * The client side of a session: a TCP socket, or the tunnel's WebSocket byte stream. The part
 * of the Duplex interface the engine uses, with the same meaning (`write` returning false asks
 * for a wait until `'drain'`; `'end'` is the peer's end of data; `'close'` the connection's).
 */
export interface ClientStream {
  write(chunk: Buffer): boolean;
  end(): unknown;
  end(chunk: Buffer): unknown;
  destroy(): unknown;
  pause(): unknown;
  resume(): unknown;
  readonly destroyed: boolean;
  readonly writableEnded: boolean;
  setNoDelay?(on?: boolean): unknown;
  /** The connection under the stream, when it wraps one (a WebSocket): what its reads and writes go through. */
  readonly socket?: Socket;
  on(event: 'data', listener: (chunk: Buffer) => void): unknown;
  on(event: 'end' | 'close' | 'drain', listener: () => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
  once(event: 'close' | 'end' | 'drain', listener: () => void): unknown;
  off(event: 'data', listener: (chunk: Buffer) => void): unknown;
  off(event: 'end' | 'close' | 'drain', listener: () => void): unknown;
  off(event: 'error', listener: (err: Error) => void): unknown;
}

/** Serves one client connection (a StartupMessage or a CancelRequest) until it ends. */
export type ServePostgresClient = (client: ClientStream, options: PostgresSessionOptions) => Promise<void>;
