import { describe, expect, it } from 'vitest';
import { errorResponse } from './backend-messages.js';
import { ByteWriter } from './byte-writer.js';
import {
  decodeBind,
  decodeCommandComplete,
  decodeCString,
  decodeErrorFields,
  decodeParse,
  decodeSaslInitialResponse,
  decodeStartupPacket,
  decodeTerminatedText,
  rowsFromTag,
  unnamedBindParamCount,
} from './decode.js';
import { ProtocolError } from './errors.js';
import { cancelRequest, saslInitialResponse, sslRequest, startupMessage } from './frontend-messages.js';

const body = (message: Buffer, headerSize = 5) => message.subarray(headerSize);

describe('decoders', () => {
  it('decodes startup, SSL and cancel packets', () => {
    const startup = startupMessage(
      new Map([
        ['user', 'u'],
        ['database', 'd'],
      ]),
    );
    expect(decodeStartupPacket(body(startup, 4))).toEqual({
      kind: 'startup',
      major: 3,
      minor: 0,
      params: new Map([
        ['user', 'u'],
        ['database', 'd'],
      ]),
    });
    expect(decodeStartupPacket(body(sslRequest(), 4))).toEqual({ kind: 'ssl' });
    const key = Buffer.from([1, 2, 3, 4]);
    expect(decodeStartupPacket(body(cancelRequest(42, key), 4))).toEqual({ kind: 'cancel', pid: 42, key });
  });

  it('refuses protocol 2 and truncated fields', () => {
    const v2 = Buffer.alloc(4);
    v2.writeInt32BE(2 << 16);
    expect(() => decodeStartupPacket(v2)).toThrow(ProtocolError);
    expect(() => decodeParse(Buffer.from('name-without-nul'))).toThrow(ProtocolError);
  });

  it('decodes Parse and Bind (skipping format codes)', () => {
    const parse = new ByteWriter().cstring('s1').cstring('select $1, $2').int16(0).message(0x50);
    expect(decodeParse(body(parse))).toEqual({ name: 's1', text: 'select $1, $2' });
    const bind = new ByteWriter()
      .cstring('p')
      .cstring('s1')
      .int16(2)
      .int16(0)
      .int16(1)
      .int16(2)
      .int32(1)
      .bytes(Buffer.from('7'))
      .int32(-1)
      .int16(0)
      .message(0x42);
    expect(decodeBind(body(bind))).toEqual({ portal: 'p', statement: 's1', paramCount: 2 });
  });

  it('decodes the unnamed statement and portal, and refuses a Bind cut short', () => {
    const parse = new ByteWriter().cstring('').cstring('select ✓ $1').int16(0).message(0x50);
    expect(decodeParse(body(parse))).toEqual({ name: '', text: 'select ✓ $1' });
    expect(decodeCString(Buffer.from([0]))).toBe('');
    const bind = new ByteWriter().cstring('').cstring('').int16(1).int16(0).int16(3).message(0x42);
    expect(decodeBind(body(bind))).toEqual({ portal: '', statement: '', paramCount: 3 });
    // Cut inside the parameter count, the format codes, their count, and the statement name.
    for (const end of [7, 5, 3, 1])
      expect(() => decodeBind(body(bind).subarray(0, end))).toThrow(ProtocolError);
    const negative = new ByteWriter().cstring('').cstring('').int16(-1).int16(0).message(0x42);
    expect(() => decodeBind(body(negative))).toThrow(ProtocolError);
  });

  it('reads the parameter count of an unnamed Bind in place, and leaves every other Bind to decodeBind', () => {
    const unnamed = (formats: number[], params: number) => {
      const w = new ByteWriter().cstring('').cstring('').int16(formats.length);
      for (const f of formats) w.int16(f);
      w.int16(params);
      for (let i = 0; i < params; i++) w.int32(1).bytes(Buffer.from(String(i % 10)));
      return body(w.int16(0).message(0x42));
    };
    for (const [formats, params] of [
      [[], 0],
      [[], 3],
      [[1], 1],
      [[0, 1, 1], 3],
      [[], 300],
    ] as const) {
      const b = unnamed([...formats], params);
      expect(unnamedBindParamCount(b)).toBe(params);
      expect(unnamedBindParamCount(b)).toBe(decodeBind(b).paramCount);
      // Inside a chunk, between other bytes.
      const chunk = Buffer.concat([Buffer.from([0, 0, 0]), b, Buffer.from([0, 0, 0, 0])]);
      expect(unnamedBindParamCount(chunk, 3, 3 + b.length)).toBe(params);
    }
    const named = body(new ByteWriter().cstring('p').cstring('').int16(0).int16(1).message(0x42));
    const namedStatement = body(new ByteWriter().cstring('').cstring('s').int16(0).int16(1).message(0x42));
    expect(unnamedBindParamCount(named)).toBe(-1);
    expect(unnamedBindParamCount(namedStatement)).toBe(-1);
    // Cut short (inside the count, the format codes or their number) or with a negative count.
    const b = unnamed([0, 1], 2);
    for (const end of [7, 5, 3]) expect(unnamedBindParamCount(b, 0, end)).toBe(-1);
    const negative = body(new ByteWriter().cstring('').cstring('').int16(-2).int16(0).int16(5).message(0x42));
    expect(unnamedBindParamCount(negative)).toBe(-1);
  });

  it('decodes a body in place between bounds, never reading past its end', () => {
    const parse = body(new ByteWriter().cstring('s1').cstring('select 1').int16(0).message(0x50));
    const bind = body(new ByteWriter().cstring('').cstring('s1').int16(0).int16(1).message(0x42));
    // The bodies inside one chunk, between other bytes (a Sync after them has a 0 in its length).
    const chunk = Buffer.concat([Buffer.from('xx'), parse, bind, Buffer.from([0x53, 0, 0, 0, 4])]);
    const p0 = 2;
    const b0 = p0 + parse.length;
    expect(decodeParse(chunk, p0, b0)).toEqual({ name: 's1', text: 'select 1' });
    expect(decodeBind(chunk, b0, b0 + bind.length)).toEqual({ portal: '', statement: 's1', paramCount: 1 });
    expect(decodeCString(chunk, p0, b0)).toBe('s1');
    // A terminator that lies only beyond the end is not taken: the text's own is cut off here.
    expect(() => decodeParse(chunk, p0, p0 + 5)).toThrow(ProtocolError);
    expect(() => decodeBind(chunk, b0, b0 + bind.length - 1)).toThrow(ProtocolError);
  });

  it('decodes error fields as the engine encodes them', () => {
    const fields = decodeErrorFields(
      body(errorResponse({ severity: 'FATAL', code: '28P01', message: 'nope' })),
    );
    expect(fields.get('V')).toBe('FATAL');
    expect(fields.get('C')).toBe('28P01');
    expect(fields.get('M')).toBe('nope');
  });

  it('decodes a SASLInitialResponse', () => {
    expect(decodeSaslInitialResponse(body(saslInitialResponse('SCRAM-SHA-256', 'n,,n=,r=abc')))).toEqual({
      mechanism: 'SCRAM-SHA-256',
      data: 'n,,n=,r=abc',
    });
  });

  it('reads a CommandComplete and a Query between bounds', () => {
    const chunk = Buffer.from('xxINSERT 0 3\0select 1\0yy');
    expect(decodeCommandComplete(chunk, 2, 13)).toEqual({ tag: 'INSERT 0 3', rows: 3 });
    expect(decodeCommandComplete(Buffer.from('BEGIN\0'))).toEqual({ tag: 'BEGIN', rows: null });
    expect(decodeTerminatedText(chunk, 13, 22)).toBe('select 1');
    expect(decodeTerminatedText(chunk, 13, 13)).toBe('');
  });

  it('reads row counts from command tags', () => {
    expect(rowsFromTag('SELECT 5')).toBe(5);
    expect(rowsFromTag('INSERT 0 3')).toBe(3);
    expect(rowsFromTag('COPY 200000')).toBe(200000);
    expect(rowsFromTag('BEGIN')).toBeNull();
    expect(rowsFromTag('CREATE TABLE')).toBeNull();
  });
});
