import { describe, expect, it } from 'vitest';
import { MessageTooLargeError, ProtocolError } from './errors.js';
import { MessageFramer } from './framer.js';
import { UNTYPED } from './protocol.js';

function msg(type: string, body: string | Buffer): Buffer {
  const b = typeof body === 'string' ? Buffer.from(body) : body;
  const out = Buffer.alloc(5 + b.length);
  out[0] = type.charCodeAt(0);
  out.writeInt32BE(4 + b.length, 1);
  b.copy(out, 5);
  return out;
}

function collect(framer: MessageFramer, chunks: Buffer[]): Array<[string, string]> {
  const seen: Array<[string, string]> = [];
  for (const c of chunks) {
    const used = framer.push(c, (type, buf, start, end) => {
      seen.push([
        type === UNTYPED ? '<startup>' : String.fromCharCode(type),
        buf.toString('latin1', start, end),
      ]);
      return undefined;
    });
    expect(used).toBe(c.length);
  }
  return seen;
}

const stream = Buffer.concat([
  msg('Q', 'select 1\0'),
  msg('D', 'x'.repeat(300)),
  msg('C', 'SELECT 1\0'),
  msg('Z', 'I'),
]);
const expected: Array<[string, string]> = [
  ['Q', 'select 1\0'],
  ['C', 'SELECT 1\0'],
  ['Z', 'I'],
];

describe('MessageFramer', () => {
  it('finds several messages in one chunk and skips unwanted bodies', () => {
    const framer = new MessageFramer({ maxMessageSize: 1 << 20, wants: [0x51, 0x43, 0x5a] });
    expect(collect(framer, [stream])).toEqual(expected);
    expect(framer.atBoundary).toBe(true);
  });

  it('handles every split point (cut in a header, in a body, between messages)', () => {
    for (let cut = 1; cut < stream.length; cut++) {
      const framer = new MessageFramer({ maxMessageSize: 1 << 20, wants: [0x51, 0x43, 0x5a] });
      const seen = collect(framer, [stream.subarray(0, cut), stream.subarray(cut)]);
      expect(seen, `cut at ${cut}`).toEqual(expected);
      expect(framer.atBoundary).toBe(true);
    }
  });

  it('steps over runs of unwanted messages between wanted ones, at every split point', () => {
    const rows = (n: number) => Array.from({ length: n }, (_, i) => msg('D', `row ${i}`));
    const copyLike = Buffer.concat([
      ...rows(4),
      msg('C', 'COPY 4\0'),
      ...rows(3),
      msg('Z', 'I'),
      msg('D', ''),
    ]);
    for (let cut = 0; cut <= copyLike.length; cut++) {
      const framer = new MessageFramer({ maxMessageSize: 1 << 20, wants: [0x43, 0x5a] });
      const seen = collect(framer, [copyLike.subarray(0, cut), copyLike.subarray(cut)]);
      expect(seen, `cut at ${cut}`).toEqual([
        ['C', 'COPY 4\0'],
        ['Z', 'I'],
      ]);
      expect(framer.atBoundary).toBe(true);
    }
  });

  it('handles a stream fed one byte at a time', () => {
    const framer = new MessageFramer({ maxMessageSize: 1 << 20, wants: [0x51, 0x43, 0x5a] });
    const chunks = [...stream].map((b) => Buffer.from([b]));
    expect(collect(framer, chunks)).toEqual(expected);
  });

  it('reports boundaries while a message is split', () => {
    const framer = new MessageFramer({ maxMessageSize: 1 << 20 });
    framer.push(stream.subarray(0, 3), null);
    expect(framer.atBoundary).toBe(false);
    framer.push(stream.subarray(3, 14), null); // header + body of Q is 5 + 9
    expect(framer.atBoundary).toBe(true);
    framer.push(stream.subarray(14, 20), null);
    expect(framer.atBoundary).toBe(false);
  });

  it('delivers zero-length bodies, also when the header ends the chunk', () => {
    const sync = msg('S', '');
    const framer = new MessageFramer({ maxMessageSize: 1024, wants: [0x53] });
    expect(collect(framer, [sync])).toEqual([['S', '']]);
    const skipping = new MessageFramer({ maxMessageSize: 1024 });
    skipping.push(sync, null);
    expect(skipping.atBoundary).toBe(true);
  });

  it('stops after the message for which the handler returns false', () => {
    const framer = new MessageFramer({ maxMessageSize: 1024, wants: [0x51] });
    const used = framer.push(stream, () => false);
    expect(used).toBe(14);
    expect(framer.atBoundary).toBe(true);
  });

  it('stops at the next boundary when asked, also across chunks', () => {
    const framer = new MessageFramer({ maxMessageSize: 1024 });
    framer.push(stream.subarray(0, 20), null); // inside the D message
    const used = framer.push(stream.subarray(20), null, 0, true);
    expect(used).toBe(14 + 305 - 20);
    expect(framer.atBoundary).toBe(true);
  });

  it('reads an untyped startup packet first, then typed messages', () => {
    const startup = Buffer.alloc(8);
    startup.writeInt32BE(8, 0);
    startup.writeInt32BE(80877103, 4);
    const all = Buffer.concat([startup, msg('p', 'abc')]);
    for (let cut = 1; cut < all.length; cut++) {
      const framer = new MessageFramer({ maxMessageSize: 1024, untyped: true, wants: [0x70] });
      const seen = collect(framer, [all.subarray(0, cut), all.subarray(cut)]);
      expect(seen).toEqual([
        ['<startup>', startup.subarray(4).toString('latin1')],
        ['p', 'abc'],
      ]);
    }
  });

  it('rejects a message longer than the maximum at its header, with its offset', () => {
    const framer = new MessageFramer({ maxMessageSize: 1000 });
    const big = Buffer.alloc(5);
    big[0] = 0x51;
    big.writeInt32BE(1001, 1);
    const chunk = Buffer.concat([msg('S', ''), big]);
    let caught: unknown;
    try {
      framer.push(chunk, null);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(MessageTooLargeError);
    expect((caught as MessageTooLargeError).offset).toBe(5);
    expect((caught as MessageTooLargeError).size).toBe(1001);
  });

  it('rejects a length shorter than the length field', () => {
    const framer = new MessageFramer({ maxMessageSize: 1000 });
    const bad = Buffer.from([0x51, 0, 0, 0, 3]);
    expect(() => framer.push(bad, null)).toThrow(ProtocolError);
    // A length with the top bit set is negative as an int32, not 2 GiB.
    const negative = Buffer.concat([msg('D', 'a'), Buffer.from([0x44, 0x80, 0, 0, 0])]);
    expect(() => new MessageFramer({ maxMessageSize: 1000 }).push(negative, null)).toThrow(ProtocolError);
  });

  it('hands out views for bodies inside one chunk and copies for split ones', () => {
    const framer = new MessageFramer({ maxMessageSize: 1024, wants: [0x51] });
    const q = msg('Q', 'select 2\0');
    let body: Buffer | null = null;
    framer.push(q, (_t, b) => {
      body = b;
      return undefined;
    });
    expect(body!.buffer).toBe(q.buffer);
    framer.push(q.subarray(0, 8), null);
    framer.push(q.subarray(8), (_t, b) => {
      body = b;
      return undefined;
    });
    expect(body!.toString()).toBe('select 2\0');
    expect(body!.buffer).not.toBe(q.buffer);
  });
});
