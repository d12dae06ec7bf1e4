import { ByteWriter } from './byte-writer.js';
import { AuthCode, Backend } from './protocol.js';

/** Encoders for the messages the broker itself sends to a client (as a server would). */

export interface ErrorFields {
  severity: 'FATAL' | 'ERROR' | 'PANIC';
  code: string;
  message: string;
  detail?: string;
  hint?: string;
}

export function errorResponse(fields: ErrorFields): Buffer {
  const w = new ByteWriter()
    .int8(0x53) // S: localized severity
    .cstring(fields.severity)
    .int8(0x56) // V: severity, never localized
    .cstring(fields.severity)
    .int8(0x43) // C: SQLSTATE
    .cstring(fields.code)
    .int8(0x4d) // M
    .cstring(fields.message);
  if (fields.detail) w.int8(0x44).cstring(fields.detail);
  if (fields.hint) w.int8(0x48).cstring(fields.hint);
  return w.int8(0).message(Backend.errorResponse);
}

export function authenticationOk(): Buffer {
  return new ByteWriter(4).int32(AuthCode.ok).message(Backend.authentication);
}

export function authenticationSasl(mechanisms: readonly string[]): Buffer {
  const w = new ByteWriter().int32(AuthCode.sasl);
  for (const m of mechanisms) w.cstring(m);
  return w.int8(0).message(Backend.authentication);
}

export function authenticationSaslContinue(data: string): Buffer {
  return new ByteWriter()
    .int32(AuthCode.saslContinue)
    .bytes(Buffer.from(data))
    .message(Backend.authentication);
}

export function authenticationSaslFinal(data: string): Buffer {
  return new ByteWriter().int32(AuthCode.saslFinal).bytes(Buffer.from(data)).message(Backend.authentication);
}

export function backendKeyData(pid: number, key: number): Buffer {
  return new ByteWriter(8).int32(pid).int32(key).message(Backend.backendKeyData);
}

export function readyForQuery(status: number): Buffer {
  return new ByteWriter(1).int8(status).message(Backend.readyForQuery);
}

/** Tells a client asking for a newer minor version or `_pq_.` options what the broker speaks. */
export function negotiateProtocolVersion(minor: number, unsupported: readonly string[]): Buffer {
  const w = new ByteWriter().int32(minor).int32(unsupported.length);
  for (const o of unsupported) w.cstring(o);
  return w.message(Backend.negotiateProtocolVersion);
}
