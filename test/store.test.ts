import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendAuditEvent, verifyChain } from '../src/audit/log.js';
import { chunkSessionEvents } from '../src/store/session-event-chunks.js';
import { openStore, type Store, StoreError } from '../src/store/store.js';
import { startPostgres, type TestPostgres } from './support/postgres.js';

let pgServer: TestPostgres;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'gatectl-store-'));
  pgServer = await startPostgres();
});
afterAll(async () => {
  await pgServer?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const dialects: Array<[string, () => Promise<string>]> = [
  ['sqlite', async () => `sqlite://${join(dir, `s-${Math.random().toString(36).slice(2)}.db`)}`],
  ['postgres', async () => pgServer.createDatabase(`s_${Math.random().toString(36).slice(2)}`)],
];

describe.each(dialects)('store on %s', (_name, makeUrl) => {
  it('migrates, appends a verifiable audit chain and delivers notifications', async () => {
    const url = await makeUrl();
    const store: Store = await openStore(url);
    try {
      for (let i = 0; i < 5; i++)
        await appendAuditEvent(store, { type: 'test.event', actor: 'alice', data: { i } });
      expect(await verifyChain(store)).toEqual({ ok: true, count: 5 });

      let heard: (payload: string) => void = () => {};
      const got = new Promise<string>((resolve) => {
        heard = resolve;
      });
      // listen() returns once LISTEN is in effect; a notification sent before that is not heard
      // (a fixed pause before notifying was too short on a loaded machine, and the test hung).
      await store.listen('grant_decided', (payload) => heard(payload));
      await store.notify('grant_decided', 'gr_1');
      expect(await got).toBe('gr_1');
    } finally {
      await store.close();
    }
  });

  it('appends session events in one batch, keeping order, nulls and fractional durations', async () => {
    const store = await openStore(await makeUrl());
    try {
      const rows = Array.from({ length: 250 }, (_, i) => ({
        session_id: 'se_1',
        seq: i + 1,
        at: 1_795_000_000_000 + i,
        kind: 'statement',
        statement: i % 2 ? `select ${i}` : null,
        param_count: i % 3,
        command_tag: i % 5 ? 'SELECT 1' : null,
        rows: i % 5 ? 1 : null,
        duration_ms: i / 8,
        error: i === 7 ? '22012: division by zero' : null,
        data: i === 9 ? '{"k":1}' : null,
      }));
      await store.appendSessionEventChunks(chunkSessionEvents(rows.slice(0, 100)));
      await store.appendSessionEventChunks(chunkSessionEvents(rows.slice(100)));
      await store.appendSessionEventChunks(chunkSessionEvents([]));
      // A batch written again (a retry after a failure that had committed) adds nothing.
      await store.appendSessionEventChunks(chunkSessionEvents(rows.slice(100)));
      expect(await store.readSessionEvents('se_1')).toEqual(rows);
      expect(await store.readSessionEvents('se_none')).toEqual([]);
    } finally {
      await store.close();
    }
  });

  it('reads a session whose older events are rows of session_events and newer ones chunks', async () => {
    const store = await openStore(await makeUrl());
    try {
      const older = {
        session_id: 'se_old',
        seq: 1,
        at: 1_795_000_000_001,
        kind: 'statement',
        statement: 'select 1',
        param_count: 0,
        command_tag: 'SELECT 1',
        rows: 1,
        duration_ms: 0.5,
        error: null,
        data: null,
      };
      // As a store written before migration 0002 left them.
      await store.db.insertInto('session_events').values(older).execute();
      const newer = { ...older, seq: 2, at: 1_795_000_000_002, statement: 'select 2', rows: 2 ** 40 };
      await store.appendSessionEventChunks(chunkSessionEvents([newer]));
      expect(await store.readSessionEvents('se_old')).toEqual([older, newer]);
    } finally {
      await store.close();
    }
  });

  it('keeps its audit chain while session events are written at the same time', async () => {
    // On SQLite the events come from another connection (a thread): a transaction that read
    // the chain's head before that connection committed must wait for the lock, not fail.
    const store = await openStore(await makeUrl());
    try {
      let writing = true;
      let seq = 0;
      const events = (async () => {
        while (writing) {
          const rows = Array.from({ length: 50 }, () => ({
            session_id: 'se_busy',
            seq: ++seq,
            at: Date.now(),
            kind: 'statement',
            statement: 'select 1',
          }));
          await store.appendSessionEventChunks(chunkSessionEvents(rows));
        }
      })();
      let audited = 0;
      try {
        // Until many event batches have interleaved with the chain's transactions.
        while (audited < 100 || seq < 2000) {
          await appendAuditEvent(store, { type: 'test.event', actor: 'alice', data: { i: audited++ } });
          // SQLite's store answers in microtasks; let the thread's replies in.
          await new Promise((r) => setImmediate(r));
        }
      } finally {
        writing = false;
        await events;
      }
      expect(await verifyChain(store)).toEqual({ ok: true, count: audited });
      const written = await store.readSessionEvents('se_busy');
      expect(written.map((e) => e.seq)).toEqual(Array.from({ length: seq }, (_, i) => i + 1));
    } finally {
      await store.close();
    }
  });

  it('opens an existing store again without re-running migrations', async () => {
    const url = await makeUrl();
    const a = await openStore(url);
    await appendAuditEvent(a, { type: 'x' });
    await a.close();
    const b = await openStore(url);
    expect(await verifyChain(b)).toEqual({ ok: true, count: 1 });
    await b.close();
  });
});

describe('store errors', () => {
  it('reports a corrupt SQLite file as a StoreError', async () => {
    const file = join(dir, 'corrupt.db');
    writeFileSync(file, 'this is not a database at all, just text that fills the header page'.repeat(100));
    await expect(openStore(`sqlite://${file}`)).rejects.toBeInstanceOf(StoreError);
  });
  it('reports an unreachable PostgreSQL as a StoreError without the password', async () => {
    const err = await openStore('postgres://u:s3cret@127.0.0.1:1/db').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreError);
    expect(String((err as Error).message)).not.toContain('s3cret');
  });
});

describe('PostgreSQL store notifications', () => {
  const listeners = async (database: string) =>
    (
      await pgServer.query(
        `select pid from pg_stat_activity where datname = '${database}' and query like 'LISTEN%'`,
      )
    ).rows as Array<{ pid: number }>;
  const until = async (fn: () => Promise<boolean> | boolean, ms = 5000) => {
    const deadline = Date.now() + ms;
    while (!(await fn())) {
      if (Date.now() > deadline) throw new Error(`condition not met within ${ms} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  it('opens one LISTEN connection for concurrent listen() calls, live for each caller, and closes it', async () => {
    const name = `n_${Math.random().toString(36).slice(2)}`;
    const store = await openStore(await pgServer.createDatabase(name));
    const got: string[] = [];
    try {
      await Promise.all([
        store.listen('a', (p) => got.push(`a1:${p}`)),
        store.listen('a', (p) => got.push(`a2:${p}`)),
        store.listen('b', (p) => got.push(`b:${p}`)),
      ]);
      expect(await listeners(name)).toHaveLength(1);
      // From another connection, as another replica would.
      await pgServer.query(`select pg_notify('a', '1'), pg_notify('b', '2')`, name);
      await until(() => got.length === 3);
      expect(got.sort()).toEqual(['a1:1', 'a2:1', 'b:2']);
    } finally {
      await store.close();
    }
    await until(
      async () =>
        (await pgServer.query(`select 1 from pg_stat_activity where datname = '${name}'`)).rowCount === 0,
    );
  });

  it('listens again on a new connection when the server drops the LISTEN connection', async () => {
    const name = `n_${Math.random().toString(36).slice(2)}`;
    const store = await openStore(await pgServer.createDatabase(name));
    const got: string[] = [];
    try {
      await store.listen('grant_decided', (p) => got.push(p));
      const [first] = await listeners(name);
      await pgServer.query(`select pg_terminate_backend(${first!.pid})`);
      await until(async () => {
        const now = await listeners(name);
        return now.length === 1 && now[0]!.pid !== first!.pid;
      });
      await pgServer.query(`select pg_notify('grant_decided', 'gr_after')`, name);
      await until(() => got.includes('gr_after'));
    } finally {
      await store.close();
    }
  });
});
