import { describe, expect, it } from 'vitest';
import { encodeFrame, FrameParser, type FrameSink, Opcode, WebSocketProtocolError } from './frame.js';

interface Parsed {
  data: Buffer;
  controls: Array<{ opcode: number; payload: string }>;
}

function collect(parser: FrameParser, chunks: Buffer[]): Parsed {
  const data: Buffer[] = [];
  const controls: Parsed['controls'] = [];
  const sink: FrameSink = {
    // Copies: a view is only valid until the next push (the chunk may be unmasked in place).
    data: (b) => data.push(Buffer.from(b)),
    control: (opcode, payload) => controls.push({ opcode, payload: payload.toString('latin1') }),
  };
  for (const c of chunks) parser.push(c, sink);
  return { data: Buffer.concat(data), controls };
}

const server = () => new FrameParser({ expectMasked: true, maxFramePayload: 1 << 20 });
const client = () => new FrameParser({ expectMasked: false, maxFramePayload: 1 << 20 });

/** A frame built by hand, with an arbitrary mask key, FIN bit and RSV bits. */
function rawFrame(opts: {
  opcode: number;
  payload: Buffer;
  mask?: Buffer;
  fin?: boolean;
  rsv?: number;
}): Buffer {
  const { opcode, payload, mask, fin = true, rsv = 0 } = opts;
  const len = payload.length;
  const ext = len < 126 ? 0 : len < 65536 ? 2 : 8;
  const head = Buffer.alloc(2 + ext + (mask ? 4 : 0));
  head[0] = (fin ? 0x80 : 0) | (rsv << 4) | opcode;
  head[1] = (mask ? 0x80 : 0) | (len < 126 ? len : len < 65536 ? 126 : 127);
  if (ext === 2) head.writeUInt16BE(len, 2);
  if (ext === 8) head.writeBigUInt64BE(BigInt(len), 2);
  const body = Buffer.from(payload);
  if (mask) {
    mask.copy(head, 2 + ext);
    for (let i = 0; i < body.length; i++) body[i]! ^= mask[i % 4]!;
  }
  return Buffer.concat([head, body]);
}

function pattern(n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 7 + 3) & 0xff;
  return b;
}

describe('encodeFrame / FrameParser', () => {
  it.each([0, 1, 125, 126, 127, 16 * 1024, 16 * 1024 + 1, 65535, 65536, 200_000])(
    'round-trips a %i-byte payload, masked and unmasked',
    (n) => {
      const payload = pattern(n);
      const masked = Buffer.concat(encodeFrame(Opcode.binary, payload, true));
      expect(collect(server(), [masked]).data.equals(payload)).toBe(true);
      const plain = Buffer.concat(encodeFrame(Opcode.binary, payload, false));
      expect(collect(client(), [plain]).data.equals(payload)).toBe(true);
      // The all-zero mask key is present and leaves the payload as it is.
      expect(masked.length).toBe(plain.length + 4);
    },
  );

  it('writes the all-zero mask key even when the header comes from a dirty buffer pool', () => {
    for (const n of [16 * 1024 + 1, 100_000]) {
      // Small unsafe allocations are slices of Node's pool: dirty its free part, where the
      // header's bytes will come from.
      const probe = Buffer.allocUnsafe(1);
      new Uint8Array(probe.buffer).fill(0xa5, probe.byteOffset + 1);
      const [header] = encodeFrame(Opcode.binary, pattern(n), true);
      expect([...header!.subarray(header!.length - 4)]).toEqual([0, 0, 0, 0]);
    }
  });

  it('writes small frames as one buffer and large ones as header plus the payload itself', () => {
    expect(encodeFrame(Opcode.binary, pattern(1000), true)).toHaveLength(1);
    const big = pattern(100_000);
    const parts = encodeFrame(Opcode.binary, big, true);
    expect(parts).toHaveLength(2);
    expect(parts[1]).toBe(big);
  });

  it('parses a stream of frames split at every possible byte boundary', () => {
    const payloads = [pattern(3), pattern(130), Buffer.alloc(0), pattern(70_000)];
    const mask = Buffer.from([0x12, 0x34, 0x56, 0x78]);
    const stream = Buffer.concat([
      ...payloads.slice(0, 2).map((p) => rawFrame({ opcode: Opcode.binary, payload: p, mask })),
      rawFrame({ opcode: Opcode.ping, payload: Buffer.from('hi'), mask }),
      ...payloads.slice(2).map((p) => rawFrame({ opcode: Opcode.binary, payload: p, mask })),
    ]);
    const expected = Buffer.concat(payloads);
    for (const cut of [1, 2, 3, 5, 7, 13, 14, 15, 131, 137, 1000]) {
      const chunks: Buffer[] = [];
      for (let i = 0; i < stream.length; i += cut) chunks.push(Buffer.from(stream.subarray(i, i + cut)));
      const got = collect(server(), chunks);
      expect(got.data.equals(expected), `chunks of ${cut}`).toBe(true);
      expect(got.controls).toEqual([{ opcode: Opcode.ping, payload: 'hi' }]);
    }
  });

  it('delivers fragmented messages as bytes and control frames in between', () => {
    const mask = Buffer.from([1, 2, 3, 4]);
    const frames = [
      rawFrame({ opcode: Opcode.binary, payload: Buffer.from('abc'), mask, fin: false }),
      rawFrame({ opcode: Opcode.ping, payload: Buffer.from('p'), mask }),
      rawFrame({ opcode: Opcode.continuation, payload: Buffer.from('def'), mask, fin: false }),
      rawFrame({ opcode: Opcode.continuation, payload: Buffer.from('ghi'), mask }),
      rawFrame({ opcode: Opcode.text, payload: Buffer.from('jkl'), mask }),
      rawFrame({ opcode: Opcode.close, payload: Buffer.from([0x03, 0xe8]), mask }),
    ];
    const got = collect(server(), [Buffer.concat(frames)]);
    expect(got.data.toString()).toBe('abcdefghijkl');
    expect(got.controls.map((c) => c.opcode)).toEqual([Opcode.ping, Opcode.close]);
  });

  const refusals: Array<[string, () => FrameParser, Buffer, number]> = [
    ['an unmasked frame from a client', server, rawFrame({ opcode: 2, payload: pattern(4) }), 1002],
    [
      'a masked frame from a server',
      client,
      rawFrame({ opcode: 2, payload: pattern(4), mask: Buffer.alloc(4) }),
      1002,
    ],
    ['reserved bits', client, rawFrame({ opcode: 2, payload: pattern(4), rsv: 4 }), 1002],
    ['an unknown data opcode', client, rawFrame({ opcode: 3, payload: pattern(4) }), 1002],
    ['an unknown control opcode', client, rawFrame({ opcode: 0xb, payload: pattern(4) }), 1002],
    [
      'a control frame over 125 bytes',
      client,
      rawFrame({ opcode: Opcode.ping, payload: pattern(126) }),
      1002,
    ],
    [
      'a fragmented control frame',
      client,
      rawFrame({ opcode: Opcode.ping, payload: pattern(1), fin: false }),
      1002,
    ],
    ['a continuation with nothing to continue', client, rawFrame({ opcode: 0, payload: pattern(4) }), 1002],
    [
      'a new message inside a fragmented one',
      client,
      Buffer.concat([
        rawFrame({ opcode: 2, payload: pattern(4), fin: false }),
        rawFrame({ opcode: 2, payload: pattern(4) }),
      ]),
      1002,
    ],
    ['a frame over the size limit', client, rawFrame({ opcode: 2, payload: pattern((1 << 20) + 1) }), 1009],
  ];
  it.each(refusals)('refuses %s', (_name, make, bytes, code) => {
    let thrown: unknown;
    try {
      collect(make(), [bytes]);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(WebSocketProtocolError);
    expect((thrown as WebSocketProtocolError).closeCode).toBe(code);
  });

  it('refuses a 64-bit length beyond 2^53 before reading any payload', () => {
    const head = Buffer.from([0x82, 127, 0xff, 0, 0, 0, 0, 0, 0, 0]);
    expect(() => collect(client(), [head])).toThrow(WebSocketProtocolError);
  });
});
