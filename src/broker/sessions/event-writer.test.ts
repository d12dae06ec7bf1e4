import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
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
    // Two full batches go out without waiting for the timer; the rest follows it. Nothing here
    // calls flush: the rows must arrive on their own (the writer thread's first start can take
    // a while on a busy machine, hence a deadline rather than a fixed wait).
    let rows = await store.readSessionEvents('se_a');
    for (const deadline = Date.now() + 10_000; rows.length < 250 && Date.now() < deadline; ) {
      await new Promise((r) => setTimeout(r, 20));
      rows = await store.readSessionEvents('se_a');
    }
    expect(rows.map((r) => r.seq)).toEqual(Array.from({ length: 250 }, (_, i) => i + 1));
    writer.push(row('se_b', 1));
    await writer.flush();
    expect(await store.readSessionEvents('se_b')).toHaveLength(1);
  });

  it('drops an event that does not follow its session’s last one, and keeps the rest of the batch', async () => {
    dir = mkdtempSync(join(tmpdir(), 'gatectl-events-'));
    store = await openStore(`sqlite://${join(dir, 'b.db')}`);
    const lines: Array<{ msg: string }> = [];
    const log = pino({ level: 'info' }, { write: (l: string) => void lines.push(JSON.parse(l)) });
    const writer = new SessionEventWriter(store, log, { flushIntervalMs: 10_000 });
    writer.push(row('se_a', 1));
    writer.push(row('se_a', 2));
    writer.push(row('se_a', 2));
    writer.push(row('se_b', 1));
    writer.push(row('se_a', 3));
    await writer.flush();
    expect((await store.readSessionEvents('se_a')).map((r) => r.seq)).toEqual([1, 2, 3]);
    expect((await store.readSessionEvents('se_b')).map((r) => r.seq)).toEqual([1]);
    expect(lines.map((l) => l.msg)).toEqual(['session event dropped']);
  });

  /** A logger whose lines the test reads, and the SQLite file behind a fresh store. */
  async function flakyStoreSetup() {
    dir = mkdtempSync(join(tmpdir(), 'gatectl-events-'));
    const file = join(dir, 'b.db');
    store = await openStore(`sqlite://${file}`);
    const lines: Array<{ msg: string; events?: number; refusals?: number }> = [];
    const log = pino({ level: 'info' }, { write: (l: string) => void lines.push(JSON.parse(l)) });
    // The store really refuses: its table is renamed away by another connection, then back.
    const admin = new Database(file);
    const refuse = (on: boolean) =>
      admin.exec(
        on
          ? 'alter table session_event_chunks rename to chunks_away'
          : 'alter table chunks_away rename to session_event_chunks',
      );
    return { log, lines, refuse, close: () => admin.close() };
  }

  it('writes a batch the store refused once the store accepts it again, in order and once', async () => {
    const { log, lines, refuse, close } = await flakyStoreSetup();
    try {
      const writer = new SessionEventWriter(store!, log, { flushIntervalMs: 10, maxBatch: 100, retryMs: 20 });
      refuse(true);
      for (let i = 1; i <= 150; i++) writer.push(row('se_a', i));
      const refusedLines = () => lines.filter((l) => l.msg.startsWith('could not record session events'));
      for (const deadline = Date.now() + 10_000; refusedLines().length < 2 && Date.now() < deadline; )
        await new Promise((r) => setTimeout(r, 20));
      const refused = refusedLines();
      expect(refused.length).toBeGreaterThanOrEqual(2);
      expect(refused[0]).toMatchObject({ level: 50, events: 100, refusals: 1 });
      for (let i = 151; i <= 160; i++) writer.push(row('se_a', i));
      refuse(false);
      await writer.flush();
      const seqs = async () => (await store!.readSessionEvents('se_a')).map((r) => r.seq);
      expect(await seqs()).toEqual(Array.from({ length: 160 }, (_, i) => i + 1));
      expect(lines.some((l) => l.msg === 'session events recorded after retrying')).toBe(true);
      // Refused again once the writer's thread is running, then accepted.
      refuse(true);
      for (let i = 161; i <= 170; i++) writer.push(row('se_a', i));
      await new Promise((r) => setTimeout(r, 100));
      refuse(false);
      await writer.flush();
      expect(await seqs()).toEqual(Array.from({ length: 170 }, (_, i) => i + 1));
    } finally {
      close();
    }
  });

  it('gives up on a store that keeps refusing once told to stop, and says how many were lost', async () => {
    const { log, lines, refuse, close } = await flakyStoreSetup();
    try {
      const writer = new SessionEventWriter(store!, log, { flushIntervalMs: 10, retryMs: 20 });
      refuse(true);
      for (let i = 1; i <= 7; i++) writer.push(row('se_b', i));
      await new Promise((r) => setTimeout(r, 100));
      const t0 = Date.now();
      writer.stopRetrying(200);
      await writer.flush();
      expect(Date.now() - t0).toBeLessThan(2000);
      expect(lines.at(-1)).toMatchObject({
        level: 50,
        events: 7,
        msg: 'session events lost: the store refused them until shutdown',
      });
      refuse(false);
      expect(await store!.readSessionEvents('se_b')).toEqual([]);
    } finally {
      close();
    }
  });

  it('holds at most maxHeld events while the store refuses them, and counts what it dropped', async () => {
    const { log, lines, refuse, close } = await flakyStoreSetup();
    try {
      const writer = new SessionEventWriter(store!, log, { flushIntervalMs: 10, retryMs: 20, maxHeld: 20 });
      refuse(true);
      for (let i = 1; i <= 30; i++) writer.push(row('se_c', i));
      await new Promise((r) => setTimeout(r, 60));
      expect(lines.filter((l) => l.msg.startsWith('session events dropped'))).toHaveLength(1);
      refuse(false);
      await writer.flush();
      expect((await store!.readSessionEvents('se_c')).map((r) => r.seq)).toEqual(
        Array.from({ length: 20 }, (_, i) => i + 1),
      );
      expect(lines.at(-1)).toMatchObject({
        level: 50,
        events: 10,
        msg: 'session events were dropped while the store refused them',
      });
      // Accepted again: new events are held and stored.
      writer.push(row('se_c', 31));
      await writer.flush();
      expect(await store!.readSessionEvents('se_c')).toHaveLength(21);
    } finally {
      close();
    }
  });
});
