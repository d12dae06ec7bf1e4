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

export function decodeCString(body: Buffer): string {
  return new ByteReader(body).cstring();
}

export interface ParseMessage {
  name: string;
  text: string;
}

export function decodeParse(body: Buffer): ParseMessage {
  const r = new ByteReader(body);
  return { name: r.cstring(), text: r.cstring() };
}

export interface BindMessage {
  portal: string;
  statement: string;
  paramCount: number;
}

export function decodeBind(body: Buffer): BindMessage {
  const r = new ByteReader(body);
  const portal = r.cstring();
  const statement = r.cstring();
  const formats = r.int16();
  r.skip(formats * 2);
  return { portal, statement, paramCount: r.int16() };
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

/** Row count at the end of a CommandComplete tag (`SELECT 5`, `INSERT 0 1`, `COPY 3`), if any. */
export function rowsFromTag(tag: string): number | null {
  const space = tag.lastIndexOf(' ');
  if (space < 0) return null;
  const n = Number(tag.slice(space + 1));
  return Number.isSafeInteger(n) ? n : null;
}
