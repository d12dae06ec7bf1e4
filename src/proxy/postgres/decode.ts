import { ByteReader } from './byte-reader.js';
import { ProtocolError } from './errors.js';
import { RequestCode } from './protocol.js';

/** Decoders for the few message bodies the engine needs to read. Bodies exclude type and length. */

export type StartupPacket =
  | { kind: 'ssl' }
  | { kind: 'gssenc' }
  | { kind: 'cancel'; pid: number; key: Buffer }
  | { kind: 'startup'; major: number; minor: number; params: Map<string, string> };

export function decodeStartupPacket(body: Buffer): StartupPacket {
  const r = new ByteReader(body);
  const code = r.int32();
  if (code === RequestCode.ssl) return { kind: 'ssl' };
  if (code === RequestCode.gssenc) return { kind: 'gssenc' };
  if (code === RequestCode.cancel) {
    const pid = r.int32();
    // Protocol 3.2 allows longer keys; ours are four bytes.
    return { kind: 'cancel', pid, key: Buffer.from(r.rest()) };
  }
  const major = code >>> 16;
  const minor = code & 0xffff;
  if (major !== 3) throw new ProtocolError(`unsupported protocol version ${major}.${minor}`);
  const params = new Map<string, string>();
  while (r.remaining > 1) {
    const k = r.cstring();
    params.set(k, r.cstring());
  }
  return { kind: 'startup', major, minor, params };
}

/** ErrorResponse / NoticeResponse fields keyed by their one-letter code. */
export function decodeErrorFields(body: Buffer): Map<string, string> {
  const r = new ByteReader(body);
  const fields = new Map<string, string>();
  while (r.remaining > 0) {
    const code = r.int8();
    if (code === 0) break;
    fields.set(String.fromCharCode(code), r.cstring());
  }
  return fields;
}

/**
 * The relay decodes a few fields of every Parse, Bind and Execute, so these read the body in
 * place, within `[start, end)` of the buffer the framer scanned (no view of it is made), instead
 * of through a ByteReader, and an empty name (the unnamed statement or portal, by far the
 * commonest) costs no string decoding.
 */
function nulAt(buf: Buffer, from: number, end: number): number {
  const nul = from < end ? buf.indexOf(0, from) : -1;
  if (nul < 0 || nul >= end) throw new ProtocolError('string without terminator');
  return nul;
}

function textOf(buf: Buffer, start: number, end: number): string {
  return end === start ? '' : buf.toString('utf8', start, end);
}

export function decodeCString(buf: Buffer, start = 0, end = buf.length): string {
  if (start < end && buf[start] === 0) return '';
  return textOf(buf, start, nulAt(buf, start, end));
}

export interface ParseMessage {
  name: string;
  text: string;
}

export function decodeParse(buf: Buffer, start = 0, end = buf.length): ParseMessage {
  const nameEnd = nulAt(buf, start, end);
  const textEnd = nulAt(buf, nameEnd + 1, end);
  return { name: textOf(buf, start, nameEnd), text: textOf(buf, nameEnd + 1, textEnd) };
}

export interface BindMessage {
  portal: string;
  statement: string;
  paramCount: number;
}

export function decodeBind(buf: Buffer, start = 0, end = buf.length): BindMessage {
  const portalEnd = nulAt(buf, start, end);
  const statementEnd = nulAt(buf, portalEnd + 1, end);
  let at = statementEnd + 1;
  if (at + 2 > end) throw new ProtocolError('message ends early');
  const formats = buf.readInt16BE(at);
  at += 2 + formats * 2;
  if (formats < 0 || at + 2 > end) throw new ProtocolError('message ends early');
  return {
    portal: textOf(buf, start, portalEnd),
    statement: textOf(buf, portalEnd + 1, statementEnd),
    paramCount: buf.readInt16BE(at),
  };
}

/** Signed 16-bit big-endian at `at` (the caller checked the bounds). */
function int16At(buf: Buffer, at: number): number {
  return ((buf[at]! << 24) | (buf[at + 1]! << 16)) >> 16;
}

/**
 * The parameter count of a Bind of the unnamed statement to the unnamed portal (two empty names,
 * what most drivers send for every execution), read without a search for terminators; -1 for any
 * other Bind, which decodeBind then reads (and rejects, when it is malformed).
 */
export function unnamedBindParamCount(buf: Buffer, start = 0, end = buf.length): number {
  if (start + 6 > end || buf[start] !== 0 || buf[start + 1] !== 0) return -1;
  const formats = int16At(buf, start + 2);
  const at = start + 4 + formats * 2;
  return formats >= 0 && at + 2 <= end ? int16At(buf, at) : -1;
}

export interface CloseMessage {
  /** `S` statement or `P` portal. */
  kind: number;
  name: string;
}

export function decodeClose(body: Buffer): CloseMessage {
  const r = new ByteReader(body);
  return { kind: r.int8(), name: r.cstring() };
}

/** SASLInitialResponse: mechanism name, then the client-first-message. */
export function decodeSaslInitialResponse(body: Buffer): { mechanism: string; data: string } {
  const r = new ByteReader(body);
  const mechanism = r.cstring();
  const n = r.int32();
  return { mechanism, data: n < 0 ? '' : r.bytes(n).toString('utf8') };
}

/** The text of a body that is one terminated string (a Query's SQL), read up to its last byte. */
export function decodeTerminatedText(buf: Buffer, start = 0, end = buf.length): string {
  return buf.toString('utf8', start, Math.max(start, end - 1));
}

export interface CommandComplete {
  tag: string;
  rows: number | null;
}

/** A CommandComplete: its tag and the row count the tag gives. */
export function decodeCommandComplete(buf: Buffer, start = 0, end = buf.length): CommandComplete {
  const tag = decodeTerminatedText(buf, start, end);
  return { tag, rows: rowsFromTag(tag) };
}

/** Row count at the end of a CommandComplete tag (`SELECT 5`, `INSERT 0 1`, `COPY 3`), if any. */
export function rowsFromTag(tag: string): number | null {
  const space = tag.lastIndexOf(' ');
  if (space < 0) return null;
  const n = Number(tag.slice(space + 1));
  return Number.isSafeInteger(n) ? n : null;
}
