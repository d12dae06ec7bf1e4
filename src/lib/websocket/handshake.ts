import { createHash, randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/** RFC 6455 §1.3: the GUID the accept value is derived with. */
const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

export function acceptValue(key: string): string {
  return createHash('sha1')
    .update(key + GUID)
    .digest('base64');
}

export function newClientKey(): string {
  return randomBytes(16).toString('base64');
}

/** Headers a client sends to open a WebSocket (no subprotocol, no extension). */
export function clientUpgradeHeaders(key: string): Record<string, string> {
  return {
    connection: 'Upgrade',
    upgrade: 'websocket',
    'sec-websocket-version': '13',
    'sec-websocket-key': key,
  };
}

export interface UpgradeRefusal {
  status: 400 | 426;
  message: string;
  headers?: Record<string, string>;
}

function headerHas(value: string | string[] | undefined, token: string): boolean {
  const text = Array.isArray(value) ? value.join(',') : (value ?? '');
  return text
    .split(',')
    .map((t) => t.trim().toLowerCase())
    .includes(token);
}

/**
 * Checks an upgrade request against RFC 6455 §4.2.1. Returns the 101 response to write, or why
 * the request is not a WebSocket opening handshake this server speaks.
 */
export function serverHandshake(
  method: string | undefined,
  headers: IncomingHttpHeaders,
): { response: string } | { refusal: UpgradeRefusal } {
  if (method !== 'GET') return { refusal: { status: 400, message: 'a WebSocket is opened with GET' } };
  if (!headerHas(headers.upgrade, 'websocket'))
    return { refusal: { status: 400, message: 'expected "Upgrade: websocket"' } };
  if (!headerHas(headers.connection, 'upgrade'))
    return { refusal: { status: 400, message: 'expected "Connection: Upgrade"' } };
  if (headers['sec-websocket-version'] !== '13')
    return {
      refusal: {
        status: 426,
        message: 'WebSocket version 13 is required',
        headers: { 'Sec-WebSocket-Version': '13' },
      },
    };
  const key = headers['sec-websocket-key'];
  if (typeof key !== 'string' || !/^[A-Za-z0-9+/]{22}==$/.test(key.trim()))
    return { refusal: { status: 400, message: 'missing or invalid Sec-WebSocket-Key' } };
  return {
    response:
      'HTTP/1.1 101 Switching Protocols\r\n' +
      'Upgrade: websocket\r\n' +
      'Connection: Upgrade\r\n' +
      `Sec-WebSocket-Accept: ${acceptValue(key.trim())}\r\n\r\n`,
  };
}
