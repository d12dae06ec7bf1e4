import { describe, expect, it } from 'vitest';
import { acceptValue, clientUpgradeHeaders, newClientKey, serverHandshake } from './handshake.js';

describe('WebSocket opening handshake', () => {
  it('derives Sec-WebSocket-Accept as RFC 6455 §1.3 shows', () => {
    expect(acceptValue('dGhlIHNhbXBsZSBub25jZQ==')).toBe('s3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
  });

  it('accepts what the client sends and answers 101 with the accept value', () => {
    const key = newClientKey();
    const hs = serverHandshake('GET', { ...clientUpgradeHeaders(key), connection: 'keep-alive, Upgrade' });
    expect('response' in hs && hs.response).toBe(
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptValue(key)}\r\n\r\n`,
    );
  });

  it.each([
    ['POST', {}, 400, /GET/],
    ['GET', { upgrade: 'h2c' }, 400, /Upgrade: websocket/],
    ['GET', { connection: 'keep-alive' }, 400, /Connection: Upgrade/],
    ['GET', { 'sec-websocket-version': '8' }, 426, /version 13/],
    ['GET', { 'sec-websocket-key': 'short' }, 400, /Sec-WebSocket-Key/],
  ] as const)('refuses %s with %o (%i)', (method, override, status, message) => {
    const hs = serverHandshake(method, { ...clientUpgradeHeaders(newClientKey()), ...override });
    expect('refusal' in hs).toBe(true);
    if ('refusal' in hs) {
      expect(hs.refusal.status).toBe(status);
      expect(hs.refusal.message).toMatch(message);
      if (status === 426) expect(hs.refusal.headers).toEqual({ 'Sec-WebSocket-Version': '13' });
    }
  });
});
