import { backendKeyData, type ErrorFields, errorResponse, readyForQuery } from './backend-messages.js';
import { type CancelRegistration, cancelRegistry } from './cancel-registry.js';
import { authenticateClient, readClientHello } from './client-handshake.js';
import type { ClientStream, PostgresSessionOptions, ServePostgresClient } from './engine.types.js';
import { MessageTooLargeError, PgClientError, ProtocolError, UpstreamError } from './errors.js';
import { FrameReader, PeerClosedError } from './frame-reader.js';
import { MessageFramer } from './framer.js';
import { DEFAULT_MAX_MESSAGE_SIZE } from './protocol.js';
import { Relay, type RelayResult } from './relay.js';
import { parseScramVerifier } from './scram.js';
import { upstreamStartupParams } from './startup-params.js';
import { StatementTracker } from './statement-tracker.js';
import { connectUpstream, sendUpstreamCancel, type UpstreamSocket } from './upstream.js';

export { createScramVerifier } from './scram.js';

/** A client must finish its startup and authentication within this time (PostgreSQL: 60 s). */
const HANDSHAKE_TIMEOUT_MS = 30_000;
const CLOSE_WAIT_MS = 2000;

function reasonText(reason: unknown): string {
  if (typeof reason === 'string') return reason;
  if (reason instanceof Error) return reason.message;
  return 'gatectl: the grant ended';
}

/**
 * Serves one client connection: a CancelRequest (forwarded to the target's backend when the key
 * is one this broker issued) or a session (client SCRAM against the tunnel's verifier, login to
 * the target with broker-held credentials, then the relay).
 *
 * `hooks.onStart` is called once the client has authenticated; `hooks.onEnd` is called exactly
 * once for every StartupMessage connection, including failed authentications (reason
 * `authentication failed`), never for CancelRequest connections.
 * @see DESIGN §5
 */
export const servePostgresClient: ServePostgresClient = async (client, options) => {
  await new EngineSession(client, options).run();
};

class EngineSession {
  readonly #client: ClientStream;
  readonly #options: PostgresSessionOptions;
  readonly #maxMessageSize: number;
  #bytesOut = 0;
  #clientClosed = false;
  /** Set when the grant ended before the relay started. */
  #abortReason: string | null = null;
  /** Reads the handshakes; null once released to the relay. */
  #reader: FrameReader | null = null;
  #relay: Relay | null = null;
  /** The target's socket, once connected. */
  #upstream: UpstreamSocket | null = null;
  #registration: CancelRegistration | null = null;
  /** Set once a StartupMessage arrived: from then on the session's end is reported. */
  #started = false;
  #bytesIn = 0;

  constructor(client: ClientStream, options: PostgresSessionOptions) {
    this.#client = client;
    this.#options = options;
    this.#maxMessageSize = options.target.max_message_size ?? DEFAULT_MAX_MESSAGE_SIZE;
  }

  #write = (bytes: Buffer): void => {
    this.#bytesOut += bytes.length;
    this.#client.write(bytes);
  };

  async run(): Promise<void> {
    const client = this.#client;
    const { log, signal, hooks } = this.#options;
    (client as { setNoDelay?: (on: boolean) => void }).setNoDelay?.(true);
    client.on('error', (err) => log.debug({ err }, 'client connection error'));
    client.on('close', () => {
      this.#clientClosed = true;
    });
    this.#reader = new FrameReader(
      client,
      new MessageFramer({ maxMessageSize: this.#maxMessageSize, untyped: true }),
    );
    const onAbort = () => this.#abort(reasonText(signal?.reason));
    let reason = 'client disconnected';
    const handshakeTimer = setTimeout(() => {
      log.info('client did not finish the startup in time');
      client.destroy();
    }, HANDSHAKE_TIMEOUT_MS);
    handshakeTimer.unref();
    try {
      const result = await this.#session(handshakeTimer, onAbort);
      if (result === null) return;
      reason = result.reason;
      this.#bytesIn += result.bytesIn;
      this.#bytesOut += result.bytesOut;
    } catch (err) {
      clearTimeout(handshakeTimer);
      this.#upstream?.destroy();
      // A reader not released yet: the failure came during the handshakes.
      const reader = this.#reader;
      if (reader) {
        this.#bytesIn = reader.bytesRead;
        reader.release();
      }
      reason = this.#fail(err);
      await this.#closeClient();
    } finally {
      signal?.removeEventListener('abort', onAbort);
      this.#registration?.release();
      if (this.#started) {
        try {
          await hooks.onEnd({ reason, bytesIn: this.#bytesIn, bytesOut: this.#bytesOut });
        } catch (err) {
          log.error({ err }, 'onEnd hook failed');
        }
      }
    }
  }

  /**
   * The handshakes, then the relay: resolves with the relay's result, or null for a
   * CancelRequest. What only the handshakes need (the startup packet, the verifier, the
   * target's startup messages) lives in this call's frame, which ends once the relay starts:
   * a broker holds hundreds of sessions, and each would otherwise keep them for its lifetime.
   */
  async #session(handshakeTimer: NodeJS.Timeout, onAbort: () => void): Promise<RelayResult | null> {
    const client = this.#client;
    const reader = this.#reader!;
    const { log, signal, hooks } = this.#options;
    const hello = await readClientHello(reader, this.#write);
    if (hello.kind === 'cancel') {
      clearTimeout(handshakeTimer);
      reader.release();
      client.destroy();
      await this.#cancel(hello.pid, hello.key);
      return null;
    }
    this.#started = true;
    if (signal?.aborted) {
      onAbort();
    } else {
      signal?.addEventListener('abort', onAbort, { once: true });
    }
    const user = hello.params.get('user') ?? '';
    let verifier: ReturnType<typeof parseScramVerifier>;
    try {
      verifier = parseScramVerifier(this.#options.clientVerifier);
    } catch (err) {
      throw new Error('invalid client verifier', { cause: err });
    }
    await authenticateClient(reader, this.#write, verifier, user);
    clearTimeout(handshakeTimer);
    await hooks.onStart({
      user,
      database: hello.params.get('database') ?? user,
      applicationName: hello.params.get('application_name') ?? null,
    });
    this.#checkOpen();

    const upstream = await connectUpstream({
      target: this.#options.target,
      password: this.#options.upstreamPassword,
      params: upstreamStartupParams(hello.params),
      maxMessageSize: this.#maxMessageSize,
    });
    this.#upstream = upstream.socket;
    this.#checkOpen();
    const registration = cancelRegistry.issue(upstream.cancelKey);
    this.#registration = registration;
    this.#write(
      Buffer.concat([
        ...upstream.startupMessages,
        backendKeyData(registration.pid, registration.key),
        readyForQuery(upstream.transactionStatus),
      ]),
    );
    const clientLeftover = reader.release();
    this.#bytesIn = reader.bytesRead - clientLeftover.length;
    this.#reader = null;
    const { cancelKey } = upstream;
    const relay = new Relay({
      client,
      upstream: upstream.socket,
      maxMessageSize: this.#maxMessageSize,
      tracker: new StatementTracker((event) => {
        try {
          hooks.onStatement(event);
        } catch (err) {
          log.error({ err }, 'onStatement hook failed');
        }
      }),
      log,
      cancelUpstream: () => {
        sendUpstreamCancel(cancelKey).catch((err: unknown) =>
          log.warn({ err }, 'cancelling the running query failed'),
        );
      },
    });
    this.#relay = relay;
    return relay.run(clientLeftover, upstream.leftover);
  }

  /** Throws when the client left or the grant ended while the engine awaited something. */
  #checkOpen(): void {
    if (this.#abortReason !== null || this.#clientClosed) throw new PeerClosedError('client gone');
  }

  #abort(reason: string): void {
    if (this.#abortReason !== null) return;
    this.#abortReason = reason;
    const fatal: ErrorFields = { severity: 'FATAL', code: '57P01', message: reason };
    if (this.#relay) {
      this.#relay.terminate(`grant ended: ${reason}`, fatal);
      return;
    }
    // Before the relay every byte to the client is a whole message, so the FATAL can go now.
    this.#upstream?.destroy();
    if (!this.#clientClosed && !this.#client.destroyed) {
      const bytes = errorResponse(fatal);
      this.#bytesOut += bytes.length;
      this.#client.end(bytes);
    }
    setTimeout(() => this.#client.destroy(), CLOSE_WAIT_MS).unref();
  }

  /** Maps a failure to the client's ErrorResponse (sent) and the session's end reason. */
  #fail(err: unknown): string {
    const { log, target } = this.#options;
    if (this.#abortReason !== null) return `grant ended: ${this.#abortReason}`;
    let fields: ErrorFields | null = null;
    let reason: string;
    if (err instanceof PeerClosedError) {
      return 'client disconnected';
    } else if (err instanceof PgClientError) {
      fields = { severity: err.severity, code: err.code, message: err.message };
      reason = err.code === '28P01' ? 'authentication failed' : `rejected: ${err.message}`;
      log.info({ code: err.code }, `client rejected: ${err.message}`);
    } else if (err instanceof MessageTooLargeError) {
      fields = {
        severity: 'FATAL',
        code: '54000',
        message: `gatectl: message of ${err.size} bytes exceeds the limit of ${this.#maxMessageSize} bytes`,
      };
      reason = 'message too large';
    } else if (err instanceof ProtocolError) {
      fields = { severity: 'FATAL', code: '08P01', message: 'invalid startup packet layout' };
      reason = 'protocol violation';
    } else if (err instanceof UpstreamError) {
      // The target's own words may name roles or hosts: they stay in the broker log.
      log.warn({ code: err.code, sqlstate: err.sqlstate, err }, `login to target ${target.name} failed`);
      reason = 'upstream connection failed';
      if (err.code === 'UPSTREAM_AUTH') {
        fields = {
          severity: 'FATAL',
          code: '08004',
          message: `gatectl: the broker could not log in to target "${target.name}"`,
          hint: 'The broker-held credentials were refused; see the broker log.',
        };
      } else if (err.code === 'UPSTREAM_REJECTED') {
        fields = {
          severity: 'FATAL',
          code: err.sqlstate ?? '08004',
          message: `gatectl: target "${target.name}" refused the connection (SQLSTATE ${err.sqlstate})`,
        };
      } else {
        fields = {
          severity: 'FATAL',
          code: '08001',
          message: `gatectl: cannot connect to target "${target.name}"`,
          hint: 'See the broker log.',
        };
      }
    } else {
      log.error({ err }, 'postgres engine failed');
      fields = { severity: 'FATAL', code: 'XX000', message: 'gatectl: internal error' };
      reason = 'internal error';
    }
    if (!this.#clientClosed && !this.#client.destroyed && fields) {
      const bytes = errorResponse(fields);
      this.#bytesOut += bytes.length;
      this.#client.end(bytes);
    }
    return reason;
  }

  #closeClient(): Promise<void> {
    const client = this.#client;
    if (this.#clientClosed || client.destroyed) return Promise.resolve();
    if (!client.writableEnded) client.end();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => client.destroy(), CLOSE_WAIT_MS);
      timer.unref();
      client.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      // A paused readable never emits 'end'; drain what the client still sends.
      client.resume();
    });
  }

  async #cancel(pid: number, key: Buffer): Promise<void> {
    const upstream = cancelRegistry.lookup(pid, key);
    if (!upstream) {
      this.#options.log.info('cancel request with an unknown key ignored');
      return;
    }
    try {
      await sendUpstreamCancel(upstream);
    } catch (err) {
      this.#options.log.warn({ err }, 'forwarding a cancel request failed');
    }
  }
}
