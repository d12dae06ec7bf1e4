import { randomBytes } from 'node:crypto';
import { startPostgres, type TestPostgres } from '../test/support/postgres.js';
import { onTeardown } from './proc.js';

/** The database every path of the benchmark reaches, and the role the broker holds credentials for. */
export interface BenchDatabase {
  server: TestPostgres;
  host: string;
  port: number;
  database: string;
  user: string;
  password: string;
  /** Environment for libpq clients (psql, pgbench) connecting to `port` (direct by default). */
  libpqEnv(port?: number): NodeJS.ProcessEnv;
}

/**
 * Starts a private PostgreSQL (embedded, on a free loopback port) with room for the 500-connection
 * run, plus a login role that owns the benchmark database.
 */
export async function startBenchPostgres(): Promise<BenchDatabase> {
  const server = await startPostgres({
    settings: {
      // 500 tunnelled sessions + pgbench clients + the harness itself.
      max_connections: '620',
      shared_buffers: '128MB',
      synchronous_commit: 'off',
    },
  });
  onTeardown('postgres', () => server.stop());
  const user = 'bench_app';
  const password = randomBytes(18).toString('base64url');
  const database = 'bench';
  await server.query(`create role ${user} login password '${password}'`);
  await server.query(`create database ${database} owner ${user}`);
  return {
    server,
    host: '127.0.0.1',
    port: server.port,
    database,
    user,
    password,
    libpqEnv(port = server.port) {
      return {
        ...process.env,
        PGHOST: '127.0.0.1',
        PGPORT: String(port),
        PGUSER: user,
        PGPASSWORD: password,
        PGDATABASE: database,
        PGSSLMODE: 'disable',
        PGAPPNAME: 'gatectl-bench',
      };
    },
  };
}
