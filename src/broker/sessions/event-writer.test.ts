import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../../store/store.js';
import { SessionEventWriter } from './event-writer.js';

let store: Store | undefined;
let dir: string | undefined;
afterEach(async () => {
  await store?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const row = (session: string, seq: number) => ({
  session_id: session,
  seq,
  at: seq,
  kind: 'statement',
  statement: `select ${seq}`,
  param_count: 0,
  command_tag: 'SELECT 1',
  rows: 1,
  duration_ms: 0.5,
  error: null,
  data: null,
});

describe('SessionEventWriter', () => {
  it('writes batches in order, on a timer or when a batch is full', async () => {
    dir = mkdtempSync(join(tmpdir(), 'gatectl-events-'));
    store = await openStore(`sqlite://${join(dir, 'b.db')}`);
    const writer = new SessionEventWriter(store, pino({ level: 'silent' }), {
      flushIntervalMs: 20,
      maxBatch: 100,
    });
    for (let i = 1; i <= 250; i++) writer.push(row('se_a', i));
    // Two full batches went out without waiting for the timer; the rest follows it.
    await new Promise((r) => setTimeout(r, 100));
    const rows = await store.readSessionEvents('se_a');
    expect(rows.map((r) => r.seq)).toEqual(Array.from({ length: 250 }, (_, i) => i + 1));
    writer.push(row('se_b', 1));
    await writer.flush();
    expect(await store.readSessionEvents('se_b')).toHaveLength(1);
  });
});
