import { mkdtempSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { chunkSessionEvents } from './session-event-chunks.js';
import { SqliteEventThread } from './sqlite-event-thread.js';
import { openStore } from './store.js';

const dir = mkdtempSync(join(tmpdir(), 'gatectl-event-thread-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Descriptors this process holds open on `file` (Linux): one per SQLite connection to it. */
const openCount = (file: string) =>
  readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`) === file;
    } catch {
      return false; // closed meanwhile (the listing's own descriptor)
    }
  }).length;

const row = (session: string, seq: number) => ({
  session_id: session,
  seq,
  at: 1_700_000_000_000 + seq,
  kind: 'statement',
  statement: `select ${seq} -- 'quoted' ✓`,
  param_count: seq % 3,
  command_tag: 'SELECT 1',
  rows: 1,
  duration_ms: 0.25,
  error: seq === 7 ? '22012: division by zero' : null,
  data: null,
});

describe('session events written from a thread (file-backed SQLite store)', () => {
  it('commits batches in the order sent, visible to the store once append resolves', async () => {
    const file = join(dir, 'order.db');
    const store = await openStore(`sqlite://${file}`);
    const batches = [0, 1, 2, 3].map((b) =>
      Array.from({ length: 250 }, (_, i) => row('se_a', b * 250 + i + 1)),
    );
    // Sent back to back without waiting: the thread must keep their order.
    const sent = batches.map((b) => store.appendSessionEventChunks(chunkSessionEvents(b)));
    await sent[1];
    const seen = await store.readSessionEvents('se_a');
    expect(seen.length).toBeGreaterThanOrEqual(500);
    await Promise.all(sent);
    const all = await store.readSessionEvents('se_a');
    expect(all.map((r) => r.seq)).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1));
    // One stored row per session per batch.
    const chunks = await store.db.selectFrom('session_event_chunks').select(['first_seq', 'count']).execute();
    expect(chunks).toEqual(batches.map((b) => ({ first_seq: b[0]!.seq, count: 250 })));
    expect(all[6]).toMatchObject({
      statement: "select 7 -- 'quoted' ✓",
      error: '22012: division by zero',
      param_count: 1,
    });
    await store.close();
  });

  it('writes what was sent before close, and refuses appends after it', async () => {
    const file = join(dir, 'close.db');
    const store = await openStore(`sqlite://${file}`);
    void store.appendSessionEventChunks(
      chunkSessionEvents(Array.from({ length: 300 }, (_, i) => row('se_b', i + 1))),
    );
    await store.close();
    const raw = new BetterSqlite3(file, { readonly: true });
    expect(raw.prepare('select sum(count) as n from session_event_chunks').get()).toEqual({ n: 300 });
    raw.close();
  });

  it('reports a batch the database rejects instead of losing it silently', async () => {
    const file = join(dir, 'bare.db');
    new BetterSqlite3(file).close(); // a database without the gatectl schema
    const thread = new SqliteEventThread(file, 'insert into session_event_chunks (session_id) values (?)');
    await expect(thread.append([['se_c']])).rejects.toThrow(/no such table: session_event_chunks/);
    await thread.close();
    await expect(thread.append([])).rejects.toThrow(/closed/);
  });

  it.runIf(process.platform === 'linux')(
    'a broker store starts the thread and its connection at once; a plain store waits for the first batch',
    async () => {
      const lazyFile = join(dir, 'lazy.db');
      const lazy = await openStore(`sqlite://${lazyFile}`);
      await new Promise((r) => setTimeout(r, 300));
      expect(openCount(lazyFile)).toBe(1);
      await lazy.close();

      const file = join(dir, 'eager.db');
      const store = await openStore(`sqlite://${file}`, { startEventThread: true });
      expect(openCount(file)).toBe(1);
      // The thread's own connection appears without any event having been written.
      for (let waited = 0; openCount(file) < 2 && waited < 10_000; waited += 50)
        await new Promise((r) => setTimeout(r, 50));
      expect(openCount(file)).toBe(2);
      await store.appendSessionEventChunks(chunkSessionEvents([row('se_d', 1)]));
      expect((await store.readSessionEvents('se_d')).map((r) => r.seq)).toEqual([1]);
      await store.close();
      expect(openCount(file)).toBe(0);
    },
  );
});
