import { createHash } from 'node:crypto';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { migrate } from './migrations.js';
import type { Database } from './schema.types.js';
import { redactUrl, SESSION_EVENT_COLUMNS, type Store, StoreError } from './store.js';

// int8 columns hold epoch milliseconds and counters, all well inside 2^53.
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === 20) return (v: string) => Number(v);
    return pg.types.getTypeParser(oid, format as 'text');
  },
};

export async function openPostgresStore(url: string): Promise<Store> {
  const pool = new pg.Pool({ connectionString: url, max: 10, types, connectionTimeoutMillis: 10_000 });
  // An idle client that loses its server must not crash the broker; the next query reports it.
  pool.on('error', () => {});
  try {
    const c = await pool.connect();
    c.release();
  } catch (err) {
    await pool.end().catch(() => {});
    throw new StoreError(
      `cannot connect to the PostgreSQL store at ${redactUrl(url)}: ${(err as Error).message}`,
      {
        code: 'store_unavailable',
        cause: err,
      },
    );
  }
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  await migrate(db, 'postgres');

  // One dedicated connection carries every LISTEN of this store.
  let listener: pg.Client | null = null;
  const handlers = new Map<string, Set<(payload: string) => void>>();
  const ensureListener = async () => {
    if (listener) return listener;
    const client = new pg.Client({ connectionString: url, types });
    client.on('error', () => {});
    await client.connect();
    client.on('notification', (msg) => {
      for (const h of handlers.get(msg.channel) ?? []) h(msg.payload ?? '');
    });
    listener = client;
    return client;
  };

  // One array parameter per column: the statement text never changes, whatever the batch size.
  const eventTypes = [
    'text',
    'int4',
    'int8',
    'text',
    'text',
    'int4',
    'text',
    'int8',
    'float8',
    'text',
    'text',
  ];
  const insertEvents = `insert into session_events (${SESSION_EVENT_COLUMNS.join(', ')}) select * from unnest(${eventTypes
    .map((t, i) => `$${i + 1}::${t}[]`)
    .join(', ')})`;
  return {
    dialect: 'postgres',
    db,
    async appendSessionEvents(rows) {
      if (rows.length === 0) return;
      const columns = SESSION_EVENT_COLUMNS.map((c) =>
        rows.map((r) => (r as Record<string, unknown>)[c] ?? null),
      );
      await pool.query({ name: 'gatectl_append_session_events', text: insertEvents, values: columns });
    },
    async listen(channel, handler) {
      const client = await ensureListener();
      let set = handlers.get(channel);
      if (!set) {
        set = new Set();
        handlers.set(channel, set);
        await client.query(`LISTEN ${quoteIdent(channel)}`);
      }
      set.add(handler);
      return async () => {
        set.delete(handler);
        if (set.size === 0 && handlers.get(channel) === set) {
          handlers.delete(channel);
          await client.query(`UNLISTEN ${quoteIdent(channel)}`).catch(() => {});
        }
      };
    },
    async notify(channel, payload) {
      await sql`select pg_notify(${channel}, ${payload})`.execute(db);
    },
    async withLock(name, fn) {
      const key = createHash('sha256').update(name).digest().readBigInt64BE(0);
      return db.transaction().execute(async (trx) => {
        await sql`select pg_advisory_xact_lock(${key.toString()}::bigint)`.execute(trx);
        return fn(trx);
      });
    },
    async close() {
      const l = listener as pg.Client | null;
      listener = null;
      if (l) await l.end().catch(() => {});
      await db.destroy();
    },
  };
}

function quoteIdent(s: string): string {
  return `"${s.replace(/"/g, '""')}"`;
}
