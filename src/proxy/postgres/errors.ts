/**
 * An error made for the client: it becomes an ErrorResponse with this SQLSTATE and message.
 * Anything that is not a PgClientError is logged on the broker and the client only gets a
 * generic FATAL, so internal details and credentials never cross the boundary.
 */
export class PgClientError extends Error {
  readonly code: string;
  readonly severity: 'FATAL' | 'ERROR';
  constructor(code: string, message: string, options?: { cause?: unknown; severity?: 'FATAL' | 'ERROR' }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.severity = options?.severity ?? 'FATAL';
  }
}

/** A peer broke the wire protocol (bad length, truncated field, unexpected message). */
export class ProtocolError extends Error {
  readonly code = 'PROTOCOL_ERROR';
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A message's declared length exceeds the configured maximum. */
export class MessageTooLargeError extends Error {
  readonly code = 'MESSAGE_TOO_LARGE';
  /** Offset in the chunk being scanned where the oversized message starts (0 when it began earlier). */
  readonly offset: number;
  readonly size: number;
  constructor(size: number, limit: number, offset: number) {
    super(`message of ${size} bytes exceeds the limit of ${limit} bytes`);
    this.name = new.target.name;
    this.size = size;
    this.offset = offset;
  }
}

/** The broker could not reach or log in to the target; the details stay in the broker log. */
export class UpstreamError extends Error {
  readonly code:
    | 'UPSTREAM_CONNECT'
    | 'UPSTREAM_TLS'
    | 'UPSTREAM_AUTH'
    | 'UPSTREAM_REJECTED'
    | 'UPSTREAM_PROTOCOL';
  /** SQLSTATE the target sent, when it sent one. */
  readonly sqlstate: string | undefined;
  constructor(
    code: UpstreamError['code'],
    message: string,
    options?: { cause?: unknown; sqlstate?: string },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.sqlstate = options?.sqlstate;
  }
}
