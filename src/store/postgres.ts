import { createHash } from 'node:crypto';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { migrate } from './migrations.js';
import type { Database } from './schema.types.js';
import { CHUNK_COLUMNS, chunkTuple } from './session-event-chunks.js';
import { readSessionEventsFrom, redactUrl, type Store, StoreError } from './store.js';

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

  // One dedicated connection carries every LISTEN of this store. It is opened once even when
  // several listen() calls race (each would otherwise open its own and all but the last would
  // leak), and reopened, with every channel listened again, when the server drops it: a broker
  // that silently stopped hearing notifications would keep revoked sessions running.
  // Notifications sent while it is down are lost; a caller that must not miss one re-reads state.
  let closed = false;
  let listener: Promise<pg.Client> | null = null;
  const channels = new Map<string, { handlers: Set<(payload: string) => void>; listening: Promise<void> }>();
  let reconnectTimer: NodeJS.Timeout | undefined;
  const connectListener = (): Promise<pg.Client> => {
    const client = new pg.Client({ connectionString: url, types });
    let established = false;
    let lost = false;
    const opened = client.connect().then(() => {
      established = true;
      return client;
    });
    const onLost = (ended: boolean) => {
      if (lost) return;
      lost = true;
      if (listener === opened) listener = null;
      if (!ended) client.end().catch(() => {});
      // A connection that never opened is retried by whoever awaited it.
      if (established && !closed && channels.size > 0) scheduleReconnect(250);
    };
    client.on('error', () => onLost(false));
    client.on('end', () => onLost(true));
    client.on('notification', (msg) => {
      for (const h of channels.get(msg.channel)?.handlers ?? []) h(msg.payload ?? '');
    });
    opened.catch(() => onLost(false));
    return opened;
  };
  const ensureListener = (): Promise<pg.Client> => {
    listener ??= connectListener();
    return listener;
  };
  const scheduleReconnect = (delayMs: number) => {
    if (reconnectTimer) return;
    reconnectTimer = setTimeout(() => {
      reconnectTimer = undefined;
      if (closed || channels.size === 0) return;
      void (async () => {
        const client = await ensureListener();
        for (const channel of channels.keys()) await client.query(`LISTEN ${quoteIdent(channel)}`);
      })().catch(() => scheduleReconnect(Math.min(delayMs * 2, 5000)));
    }, delayMs);
    reconnectTimer.unref();
  };

  // One array parameter per column: the statement text never changes, whatever the batch size.
  // One row per session per batch; the arrays are the chunks' columns in CHUNK_COLUMNS order. A
  // chunk already stored (a batch written again after a failure that had in fact committed) stays.
  const chunkTypes = ['text', 'int4', 'int4', 'int4', 'int4', 'text'];
  const insertChunks = `insert into session_event_chunks (${CHUNK_COLUMNS.join(', ')}) select * from unnest(${chunkTypes
    .map((t, i) => `$${i + 1}::${t}[]`)
    .join(', ')}) on conflict (session_id, first_seq) do nothing`;
  return {
    dialect: 'postgres',
    db,
    async appendSessionEventChunks(chunkRows) {
      if (chunkRows.length === 0) return;
      const chunks = chunkRows.map(chunkTuple);
      const columns = CHUNK_COLUMNS.map((_, i) => chunks.map((c) => c[i]));
      await pool.query({ name: 'gatectl_append_session_event_chunks', text: insertChunks, values: columns });
    },
    readSessionEvents(sessionId) {
      return readSessionEventsFrom(db, sessionId);
    },
    async listen(channel, handler) {
      let entry = channels.get(channel);
      if (!entry) {
        const created = {
          handlers: new Set<(payload: string) => void>(),
          listening: ensureListener().then(async (client) => {
            await client.query(`LISTEN ${quoteIdent(channel)}`);
          }),
        };
        created.listening.catch(() => {
          if (channels.get(channel) === created) channels.delete(channel);
        });
        channels.set(channel, created);
        entry = created;
      }
      const current = entry;
      current.handlers.add(handler);
      // Every caller returns only once LISTEN is in effect, not just the one that issued it.
      try {
        await current.listening;
      } catch (err) {
        current.handlers.delete(handler);
        throw err;
      }
      return async () => {
        current.handlers.delete(handler);
        if (current.handlers.size === 0 && channels.get(channel) === current) {
          channels.delete(channel);
          const client = await listener?.catch(() => null);
          await client?.query(`UNLISTEN ${quoteIdent(channel)}`).catch(() => {});
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
      closed = true;
      clearTimeout(reconnectTimer);
      const l = listener;
      listener = null;
      const client = await l?.catch(() => null);
      if (client) await client.end().catch(() => {});
      await db.destroy();
    },
  };
}

function quoteIdent(s: string): string {
  return `"${s.replace(/"/g, '""')}"`;
}
