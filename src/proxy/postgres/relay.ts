import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { lendReads } from '../../lib/net/reused-read-buffer.js';
import { type ErrorFields, errorResponse } from './backend-messages.js';
import {
  type CommandComplete,
  decodeBind,
  decodeClose,
  decodeCommandComplete,
  decodeCString,
  decodeErrorFields,
  decodeParse,
  decodeTerminatedText,
  type ParseMessage,
  unnamedBindParamCount,
} from './decode.js';
import type { ClientStream } from './engine.types.js';
import { MessageTooLargeError } from './errors.js';
import { MessageFramer } from './framer.js';
import { Backend, Frontend } from './protocol.js';
import { RepeatedText } from './repeated-text.js';
import type { StatementTracker } from './statement-tracker.js';

export interface RelayOptions {
  client: ClientStream;
  upstream: Duplex;
  maxMessageSize: number;
  tracker: StatementTracker;
  log: Logger;
  /**
   * Cancels whatever the backend is running. Called when the session ends while a query is in
   * flight: a backend busy in pg_sleep or materialising a result does not notice that its
   * socket closed until it next writes, which could be minutes later.
   */
  cancelUpstream: () => void;
}

export interface RelayResult {
  reason: string;
  bytesIn: number;
  bytesOut: number;
}

/**
 * Client messages the session record needs (policy will add its own here: Q and P already are),
 * with Sync and FunctionCall, whose answers tell whether the backend is busy when the session ends.
 */
const CLIENT_TYPES = [
  Frontend.query,
  Frontend.sync,
  Frontend.functionCall,
  Frontend.parse,
  Frontend.bind,
  Frontend.execute,
  Frontend.close,
  Frontend.terminate,
];
/**
 * Server messages the session record needs. Masking will add RowDescription, DataRow, CopyData,
 * ErrorResponse and NoticeResponse bodies; a message it rewrites is then written as a slice
 * boundary (bytes before it, the new message, bytes after it) instead of the whole chunk.
 */
const SERVER_TYPES = [
  Backend.commandComplete,
  Backend.errorResponse,
  Backend.readyForQuery,
  Backend.emptyQueryResponse,
  Backend.portalSuspended,
];

/** What a forgotten entry of the relay's seen buffers holds. */
const NO_BODY = Buffer.alloc(0);

/** How long a FATAL waits for a half-forwarded server message to finish before the close. */
const BOUNDARY_WAIT_MS = 1000;
/** How long a closing peer gets to read its last bytes. */
const CLOSE_WAIT_MS = 2000;

/**
 * Relays an authenticated session. Each incoming chunk is scanned in place for message
 * boundaries and written on whole; the few types the session record needs are decoded after
 * the write, so the common path neither copies nor waits for the record. A destination that
 * cannot take more pauses its source until 'drain'.
 */
export class Relay {
  readonly #client: ClientStream;
  readonly #upstream: Duplex;
  readonly #tracker: StatementTracker;
  readonly #log: Logger;
  readonly #cancelUpstream: () => void;
  readonly #clientFramer: MessageFramer;
  readonly #serverFramer: MessageFramer;
  bytesIn = 0;
  bytesOut = 0;
  #ended = false;
  #clientTerminated = false;
  #serverSentFatal = false;
  #pendingFatal: { reason: string; error: ErrorFields } | null = null;
  #reason = '';
  #resolve: (r: RelayResult) => void = () => {};
  #clientClosed = false;
  #upstreamGone = false;
  /**
   * The wanted messages of the chunk being relayed, in order. The framer only finds them; they
   * are decoded for the session record once the chunk has been forwarded, so the record's work
   * is not on the way of the bytes (a rule that must decide before forwarding, such as policy,
   * belongs in the scan instead).
   */
  readonly #seenTypes: number[] = [];
  /** Where each body is: `[start, end)` of a buffer (the chunk, or a body assembled across chunks). */
  readonly #seenBufs: Buffer[] = [];
  readonly #seenStarts: number[] = [];
  readonly #seenEnds: number[] = [];
  /**
   * How many entries of the arrays above belong to the chunk being relayed. The arrays keep
   * their length between chunks: emptying them (`length = 0`) frees their backing stores, so
   * every chunk would allocate them again.
   */
  #seen = 0;
  /** Bodies that repeat from one statement to the next, decoded when they change. */
  readonly #queries = new RepeatedText(decodeTerminatedText);
  readonly #parses = new RepeatedText<ParseMessage>(decodeParse);
  readonly #tags = new RepeatedText<CommandComplete>(decodeCommandComplete);
  readonly #collect = (type: number, buf: Buffer, start: number, end: number): undefined => {
    const i = this.#seen++;
    this.#seenTypes[i] = type;
    this.#seenBufs[i] = buf;
    this.#seenStarts[i] = start;
    this.#seenEnds[i] = end;
    return undefined;
  };

  constructor(options: RelayOptions) {
    this.#client = options.client;
    this.#upstream = options.upstream;
    this.#tracker = options.tracker;
    this.#log = options.log;
    this.#cancelUpstream = options.cancelUpstream;
    this.#clientFramer = new MessageFramer({ maxMessageSize: options.maxMessageSize, wants: CLIENT_TYPES });
    this.#serverFramer = new MessageFramer({ maxMessageSize: options.maxMessageSize, wants: SERVER_TYPES });
  }

  /** Runs until either side ends; leftovers are bytes already read during the handshakes. */
  run(clientLeftover: Buffer, upstreamLeftover: Buffer): Promise<RelayResult> {
    const done = new Promise<RelayResult>((resolve) => {
      this.#resolve = resolve;
    });
    const client = this.#client;
    const upstream = this.#upstream;
    client.on('error', this.#onClientError);
    upstream.on('error', this.#onUpstreamError);
    client.on('close', this.#onClientClose);
    client.on('end', this.#onClientClose);
    upstream.on('close', this.#onUpstreamClose);
    upstream.on('end', this.#onUpstreamClose);
    upstream.on('drain', () => client.resume());
    client.on('drain', () => upstream.resume());
    // What the relay keeps of a chunk past its 'data' call, it has written to the other side
    // (bodies it decodes later are copies: see MessageFramer and RepeatedText), so both
    // connections may read into memory they reuse once the other side has sent it on.
    const clientSocket = client.socket ?? (client instanceof Socket ? client : undefined);
    if (clientSocket) {
      lendReads(clientSocket, upstream);
      if (upstream instanceof Socket) lendReads(upstream, clientSocket);
    }
    if (upstreamLeftover.length > 0) this.#onUpstreamData(upstreamLeftover);
    if (clientLeftover.length > 0) this.#onClientData(clientLeftover);
    client.on('data', this.#onClientData);
    upstream.on('data', this.#onUpstreamData);
    client.resume();
    upstream.resume();
    return done;
  }

  /**
   * Ends the session with a FATAL to the client. When the client is in the middle of a server
   * message, the rest of that message is forwarded first (up to BOUNDARY_WAIT_MS) so the
   * ErrorResponse lands on a boundary.
   */
  terminate(reason: string, error: ErrorFields): void {
    if (this.#ended) return;
    // A client that already sent Terminate ended the session itself; the backend is closing.
    if (this.#clientTerminated) {
      this.#end('client terminated', null);
      return;
    }
    if (this.#serverFramer.atBoundary) {
      this.#end(reason, error);
      return;
    }
    this.#pendingFatal = { reason, error };
    setTimeout(() => this.#end(reason, null), BOUNDARY_WAIT_MS).unref();
  }

  #onClientData = (chunk: Buffer): void => {
    if (this.#ended) return;
    this.bytesIn += chunk.length;
    try {
      this.#clientFramer.push(chunk, this.#collect);
    } catch (err) {
      // Nothing of this chunk is forwarded, so nothing of it is recorded.
      this.#forgetSeen();
      if (err instanceof MessageTooLargeError) {
        this.#log.warn({ size: err.size }, 'client message exceeds max_message_size');
        this.#end('message too large', {
          severity: 'FATAL',
          code: '54000',
          message: `gatectl: message of ${err.size} bytes exceeds the limit of ${this.#clientFramer.maxMessageSize} bytes`,
        });
      } else {
        this.#log.warn({ err }, 'client broke the protocol');
        this.#end('protocol violation', {
          severity: 'FATAL',
          code: '08P01',
          message: 'invalid frontend message',
        });
      }
      return;
    }
    if (!this.#upstream.write(chunk)) this.#client.pause();
    this.#decodeSeen(this.#onClientMessage);
  };

  #onUpstreamData = (chunk: Buffer): void => {
    if (this.#ended) return;
    const pending = this.#pendingFatal;
    if (pending) {
      const at = this.#serverFramer.push(chunk, null, 0, true);
      this.#writeClient(at === chunk.length ? chunk : chunk.subarray(0, at));
      if (this.#serverFramer.atBoundary) this.#end(pending.reason, pending.error);
      return;
    }
    try {
      this.#serverFramer.push(chunk, this.#collect);
    } catch (err) {
      const offset = err instanceof MessageTooLargeError ? err.offset : 0;
      // The messages before a too large one are forwarded whole and recorded; after any other
      // violation nothing of the chunk is forwarded, so nothing of it is recorded.
      if (offset > 0) {
        this.#writeClient(chunk.subarray(0, offset));
        this.#decodeSeen(this.#onServerMessage);
      } else this.#forgetSeen();
      this.#log.warn({ err }, 'target sent an unacceptable message');
      const tooLarge = err instanceof MessageTooLargeError;
      this.#end(tooLarge ? 'message too large' : 'upstream protocol violation', {
        severity: 'FATAL',
        code: tooLarge ? '54000' : '08P01',
        message: tooLarge
          ? `gatectl: a message from the database exceeds the limit of ${this.#serverFramer.maxMessageSize} bytes`
          : 'gatectl: the database sent an invalid message',
      });
      return;
    }
    if (!this.#writeClient(chunk)) this.#upstream.pause();
    this.#decodeSeen(this.#onServerMessage);
  };

  #decodeSeen(decode: (type: number, buf: Buffer, start: number, end: number) => undefined): void {
    const types = this.#seenTypes;
    const bufs = this.#seenBufs;
    const starts = this.#seenStarts;
    const ends = this.#seenEnds;
    for (let i = 0; i < this.#seen; i++) decode(types[i]!, bufs[i]!, starts[i]!, ends[i]!);
    this.#forgetSeen();
  }

  /** Lets go of the buffers (a chunk would otherwise stay alive until overwritten) and starts over. */
  #forgetSeen(): void {
    const bufs = this.#seenBufs;
    for (let i = 0; i < this.#seen; i++) bufs[i] = NO_BODY;
    this.#seen = 0;
  }

  #writeClient(chunk: Buffer): boolean {
    this.bytesOut += chunk.length;
    return this.#client.write(chunk);
  }

  #onClientMessage = (type: number, buf: Buffer, start: number, end: number): undefined => {
    const tracker = this.#tracker;
    try {
      switch (type) {
        case Frontend.sync:
        case Frontend.functionCall:
          tracker.sync();
          break;
        case Frontend.query:
          tracker.query(this.#queries.get(buf, start, end));
          break;
        case Frontend.parse: {
          const p = this.#parses.get(buf, start, end);
          tracker.parse(p.name, p.text);
          break;
        }
        case Frontend.bind: {
          const params = unnamedBindParamCount(buf, start, end);
          if (params >= 0) {
            tracker.bind('', '', params);
          } else {
            const b = decodeBind(buf, start, end);
            tracker.bind(b.portal, b.statement, b.paramCount);
          }
          break;
        }
        case Frontend.execute:
          tracker.execute(decodeCString(buf, start, end));
          break;
        case Frontend.close: {
          const c = decodeClose(buf.subarray(start, end));
          tracker.close(c.kind, c.name);
          break;
        }
        case Frontend.terminate:
          this.#clientTerminated = true;
          break;
      }
    } catch (err) {
      // A malformed message is the server's to reject; the record just misses it.
      this.#log.debug({ err, type: String.fromCharCode(type) }, 'undecodable client message');
    }
    return undefined;
  };

  #onServerMessage = (type: number, buf: Buffer, start: number, end: number): undefined => {
    const tracker = this.#tracker;
    try {
      switch (type) {
        case Backend.commandComplete: {
          const t = this.#tags.get(buf, start, end);
          tracker.commandComplete(t.tag, t.rows);
          break;
        }
        case Backend.errorResponse: {
          const f = decodeErrorFields(buf.subarray(start, end));
          const severity = f.get('V') ?? f.get('S');
          if (severity === 'FATAL' || severity === 'PANIC') this.#serverSentFatal = true;
          tracker.error(f.get('C') ?? 'XX000', f.get('M') ?? '');
          break;
        }
        case Backend.readyForQuery:
          tracker.readyForQuery();
          break;
        case Backend.emptyQueryResponse:
        case Backend.portalSuspended:
          tracker.executeEnded();
          break;
      }
    } catch (err) {
      this.#log.debug({ err, type: String.fromCharCode(type) }, 'undecodable server message');
    }
    return undefined;
  };

  #onClientError = (err: Error): void => {
    this.#log.debug({ err }, 'client connection error');
  };

  #onUpstreamError = (err: Error): void => {
    this.#log.debug({ err }, 'upstream connection error');
  };

  #onClientClose = (): void => {
    this.#clientClosed = true;
    if (!this.#ended) this.#end(this.#clientTerminated ? 'client terminated' : 'client disconnected', null);
    this.#maybeDone();
  };

  #onUpstreamClose = (): void => {
    this.#upstreamGone = true;
    if (!this.#ended) {
      // The target's own FATAL (pg_terminate_backend, shutdown) has been relayed already.
      this.#end(
        this.#clientTerminated ? 'client terminated' : 'upstream closed',
        this.#serverSentFatal || this.#clientTerminated
          ? null
          : { severity: 'FATAL', code: '08006', message: 'gatectl: the connection to the database was lost' },
      );
    }
    this.#maybeDone();
  };

  #end(reason: string, error: ErrorFields | null): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#reason = reason;
    this.#pendingFatal = null;
    // A backend still answering (a query, or an Execute or Sync not answered yet) is cancelled.
    if (this.#tracker.busy && !this.#clientTerminated && !this.#upstreamGone) this.#cancelUpstream();
    // The backend must go away with the client: a destroyed socket makes its next send fail.
    this.#upstream.destroy();
    if (!this.#clientClosed) {
      if (error && this.#serverFramer.atBoundary) {
        const bytes = errorResponse(error);
        this.bytesOut += bytes.length;
        this.#client.end(bytes);
      } else {
        this.#client.end();
      }
      setTimeout(() => this.#client.destroy(), CLOSE_WAIT_MS).unref();
    }
    this.#maybeDone();
  }

  #maybeDone(): void {
    if (!this.#ended) return;
    if (!this.#clientClosed && !this.#client.destroyed) return;
    this.#resolve({ reason: this.#reason, bytesIn: this.bytesIn, bytesOut: this.bytesOut });
  }
}
