import { describe, expect, it } from 'vitest';
import {
  CHUNK_FORMAT,
  CHUNK_MAX_CHARS,
  chunkSessionEvents,
  decodeSessionEventChunk,
  EVENT_FIELDS,
  eventLine,
} from './session-event-chunks.js';

const event = (session: string, seq: number, extra: Record<string, unknown> = {}) => ({
  session_id: session,
  seq,
  at: 1_795_000_000_000 + seq,
  kind: 'statement',
  statement: `select ${seq}`,
  param_count: 0,
  command_tag: 'SELECT 1',
  rows: 1,
  duration_ms: seq / 7,
  error: null,
  data: null,
  ...extra,
});

/** Each chunk's session and range, and that none reaches the size limit. */
function bounds(chunks: ReturnType<typeof chunkSessionEvents>) {
  for (const c of chunks) expect(c.events.length).toBeLessThan(CHUNK_MAX_CHARS);
  return chunks.map((c) => [c.session_id, c.first_seq, c.last_seq, c.count]);
}

describe('session event chunks', () => {
  it('stores one chunk per session, keeping each session’s order, and reads every field back', () => {
    const rows = [
      event('se_a', 1),
      event('se_b', 1, { statement: 'select $1,\n  $2 -- "quoted"\\ ✓ 😀', param_count: 2 }),
      event('se_a', 2, { command_tag: null, rows: null, error: '22012: division by zero' }),
      event('se_b', 2, { data: '{"k":[1,2]}', statement: null, duration_ms: 0 }),
      event('se_a', 3, { rows: 2 ** 40 }),
    ];
    const chunks = chunkSessionEvents(rows);
    expect(chunks.map((c) => [c.session_id, c.first_seq, c.last_seq, c.count, c.format])).toEqual([
      ['se_a', 1, 3, 3, CHUNK_FORMAT],
      ['se_b', 1, 2, 2, CHUNK_FORMAT],
    ]);
    // A newline inside a statement stays escaped: one line per event.
    expect(chunks[1]!.events.split('\n')).toHaveLength(2);
    const back = chunks.flatMap((c) => decodeSessionEventChunk(c));
    expect(back).toEqual([rows[0], rows[2], rows[4], rows[1], rows[3]]);
  });

  it('starts another chunk when a session’s events grow past the size limit', () => {
    const big = 'x'.repeat(CHUNK_MAX_CHARS / 3);
    const rows = [1, 2, 3, 4, 5].map((seq) => event('se_a', seq, { statement: `select '${big}'` }));
    const chunks = chunkSessionEvents([...rows, event('se_b', 1)]);
    expect(bounds(chunks)).toEqual([
      ['se_a', 1, 2, 2],
      ['se_a', 3, 4, 2],
      ['se_a', 5, 5, 1],
      ['se_b', 1, 1, 1],
    ]);
    expect(chunks.slice(0, 3).flatMap((c) => decodeSessionEventChunk(c))).toEqual(rows);
  });

  it('counts the limit in characters, not bytes, when lines hold characters above ASCII', () => {
    // '✓' is one character and three bytes: by bytes, each of these lines would fill a chunk. One
    // string for all but the third: a repeated statement is copied from the line before.
    const big = `select '${'✓'.repeat(CHUNK_MAX_CHARS / 3)}'`;
    const rows = [1, 2, 3, 4, 5].map((seq) =>
      event('se_a', seq, { statement: seq === 3 ? `select '${'x'.repeat(CHUNK_MAX_CHARS / 3)}'` : big }),
    );
    const chunks = chunkSessionEvents([event('se_b', 1, { statement: 'select "é"' }), ...rows]);
    // se_b's chunk was opened first, so it comes before se_a's last.
    expect(bounds(chunks)).toEqual([
      ['se_a', 1, 2, 2],
      ['se_a', 3, 4, 2],
      ['se_b', 1, 1, 1],
      ['se_a', 5, 5, 1],
    ]);
    expect(chunks.filter((c) => c.session_id === 'se_a').flatMap((c) => decodeSessionEventChunk(c))).toEqual(
      rows,
    );
    expect(chunks[2]!.events).toBe(eventLine(event('se_b', 1, { statement: 'select "é"' })));
  });

  it('counts a repeated statement above ASCII in characters too, where its bytes are copied', () => {
    // Short enough to be copied from the line before: 1 000 characters, 3 000 bytes.
    const statement = '✓'.repeat(1000);
    const rows = Array.from({ length: 9000 }, (_, i) => event('se_a', i + 1, { statement }));
    // Where each chunk must close, from each line's own length in characters.
    const expected: number[] = [];
    let chars = -1;
    for (const r of rows) {
      const length = eventLine(r).length;
      if (expected.length > 0 && chars + 1 + length < CHUNK_MAX_CHARS) {
        chars += 1 + length;
        expected[expected.length - 1]!++;
      } else {
        expected.push(1);
        chars = length;
      }
    }
    expect(expected.length).toBeGreaterThan(1);
    const chunks = chunkSessionEvents(rows);
    expect(chunks.map((c) => c.count)).toEqual(expected);
    expect(chunks.flatMap((c) => decodeSessionEventChunk(c))).toEqual(rows);
  });

  it('fills fields a writer left out with null', () => {
    const [c] = chunkSessionEvents([{ session_id: 'se_c', seq: 5, at: 1, kind: 'statement' }]);
    expect(decodeSessionEventChunk(c!)).toEqual([
      {
        session_id: 'se_c',
        seq: 5,
        at: 1,
        kind: 'statement',
        statement: null,
        param_count: null,
        command_tag: null,
        rows: null,
        duration_ms: null,
        error: null,
        data: null,
      },
    ]);
  });

  it('refuses a session whose events are out of order in a batch', () => {
    expect(() => chunkSessionEvents([event('se_a', 2), event('se_a', 2)])).toThrow(/event 2 follows event 2/);
  });

  it('refuses chunks it cannot read instead of returning wrong events', () => {
    const [c] = chunkSessionEvents([event('se_a', 1), event('se_a', 2)]);
    expect(() => decodeSessionEventChunk({ ...c!, format: 2 })).toThrow(/format 2/);
    expect(() => decodeSessionEventChunk({ ...c!, count: 3 })).toThrow(/holds 2 events, its row says 3/);
    expect(() => decodeSessionEventChunk({ ...c!, events: '[1,2]' })).toThrow(/malformed/);
  });

  it('writes each line exactly as JSON.stringify would', () => {
    // A fixed-seed generator, so a failure can be replayed.
    let seed = 42;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
    const chars = [
      'a',
      'Z',
      ' ',
      '"',
      '\\',
      '\n',
      '\t',
      '\u0000',
      '\u001f',
      '\u007f',
      'é',
      '✓',
      '\u2028',
      '😀',
      '\ud800',
      '\udfff',
      '$',
    ];
    const text = () =>
      rnd() < 0.2 ? null : Array.from({ length: Math.floor(rnd() * 12) }, () => pick(chars)).join('');
    const numbers = [
      0,
      -0,
      1,
      -1,
      7,
      2 ** 31,
      2 ** 40,
      2 ** 53,
      1.5,
      -2.25,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      1e21,
      1e-7,
      null,
    ];
    const durations = () => {
      const r = rnd();
      if (r < 0.1) return null;
      if (r < 0.2) return pick(numbers);
      const us = Math.floor(rnd() * (r < 0.9 ? 10_000_000 : 2 ** 33));
      return r < 0.95 ? Math.round((us / 1000) * 1000) / 1000 : us / 7;
    };
    const stamps = [
      0,
      5,
      999_999,
      1_000_000,
      1_764_460_000_000,
      1_764_460_000_007,
      1_764_460_123_456.5,
      2 ** 53 + 2,
      -1_764_460_000_000,
    ];
    // Statements repeat, as the same string or as an equal copy (the writer keeps the last one).
    let previous: string | null = null;
    const statement = () => {
      const r = rnd();
      if (r < 0.25) return previous;
      if (r < 0.5) return previous === null ? null : ` ${previous}`.slice(1);
      previous = text();
      return previous;
    };
    const inOrder: Parameters<typeof eventLine>[0][] = [];
    const lines: string[] = [];
    for (let i = 0; i < 20_000; i++) {
      const row = {
        session_id: 'se_x',
        seq: pick([1, 2 ** 31 + 1, 17]),
        at: i % 3 === 0 ? pick(stamps) : 1_764_460_000_000 + Math.floor(rnd() * 1e9),
        kind: pick(['statement', 'x"y']),
        statement: statement(),
        param_count: pick(numbers),
        command_tag: text(),
        rows: pick(numbers),
        duration_ms: durations(),
        error: text(),
        data: text(),
      } as Parameters<typeof eventLine>[0];
      const generic = JSON.stringify(EVENT_FIELDS.map((f) => (row as Record<string, unknown>)[f] ?? null));
      expect(eventLine(row), JSON.stringify(row)).toBe(generic);
      // The same rows, in order, as one session's chunk: one buffer, grown many times over.
      inOrder.push({ ...row, seq: i + 1 });
      lines.push(JSON.stringify(EVENT_FIELDS.map((f) => (inOrder[i] as Record<string, unknown>)[f] ?? null)));
    }
    const chunks = chunkSessionEvents(inOrder);
    expect(chunks).toHaveLength(1);
    expect(chunks[0]!.count).toBe(inOrder.length);
    expect(chunks[0]!.events === lines.join('\n')).toBe(true);
  });
});
