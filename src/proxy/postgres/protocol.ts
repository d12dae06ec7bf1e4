/**
 * Wire constants of the PostgreSQL frontend/backend protocol 3.0.
 * @see https://www.postgresql.org/docs/current/protocol-message-formats.html
 */

/** Request codes carried by untyped packets in place of a protocol version. */
export const RequestCode = {
  protocol3: 196608, // 3.0
  ssl: 80877103,
  gssenc: 80877104,
  cancel: 80877102,
} as const;

/** Message type bytes sent by the client. */
export const Frontend = {
  query: 0x51, // Q
  parse: 0x50, // P
  bind: 0x42, // B
  execute: 0x45, // E
  describe: 0x44, // D
  close: 0x43, // C
  sync: 0x53, // S
  flush: 0x48, // H
  terminate: 0x58, // X
  copyData: 0x64, // d
  copyDone: 0x63, // c
  copyFail: 0x66, // f
  functionCall: 0x46, // F
  /** PasswordMessage, SASLInitialResponse and SASLResponse share this byte. */
  password: 0x70, // p
} as const;

/** Message type bytes sent by the server. */
export const Backend = {
  authentication: 0x52, // R
  backendKeyData: 0x4b, // K
  parameterStatus: 0x53, // S
  readyForQuery: 0x5a, // Z
  errorResponse: 0x45, // E
  noticeResponse: 0x4e, // N
  commandComplete: 0x43, // C
  emptyQueryResponse: 0x49, // I
  portalSuspended: 0x73, // s
  rowDescription: 0x54, // T
  dataRow: 0x44, // D
  copyInResponse: 0x47, // G
  copyOutResponse: 0x48, // H
  copyData: 0x64, // d
  notificationResponse: 0x41, // A
  negotiateProtocolVersion: 0x76, // v
} as const;

/** Authentication request codes (the int32 after an `R`). */
export const AuthCode = {
  ok: 0,
  cleartextPassword: 3,
  md5Password: 5,
  sasl: 10,
  saslContinue: 11,
  saslFinal: 12,
} as const;

/** Default cap on one message, either direction. */
export const DEFAULT_MAX_MESSAGE_SIZE = 64 * 1024 * 1024;

/** The pseudo type the framer reports for an untyped packet (StartupMessage and friends). */
export const UNTYPED = 0;
