import type { TunnelView } from '../../broker/tunnels/tunnel.types.js';
import { errorResponse } from '../../proxy/postgres/backend-messages.js';
import type { ConnectionFailure } from './local-tunnel.js';

/** Where and how a local client reaches an open tunnel. */
export interface ConnectionInfo {
  host: string;
  port: number;
  database: string;
  user: string;
  /** The tunnel's one-time secret (not an upstream credential). */
  password: string;
}

export function connectionInfo(tunnel: TunnelView, port: number, secret: string): ConnectionInfo {
  return { host: '127.0.0.1', port, database: tunnel.database, user: tunnel.user, password: secret };
}

/**
 * `postgresql://user:secret@127.0.0.1:port/db?sslmode=disable`. TLS is off on the loopback hop
 * only; the hop to the broker is the WebSocket (TLS when the broker URL is https).
 */
export function connectionUri(info: ConnectionInfo): string {
  const e = encodeURIComponent;
  return `postgresql://${e(info.user)}:${e(info.password)}@${info.host}:${info.port}/${e(info.database)}?sslmode=disable`;
}

/** The libpq environment a child of `gatectl exec` gets. */
export function libpqEnv(info: ConnectionInfo): Record<string, string> {
  return {
    PGHOST: info.host,
    PGPORT: String(info.port),
    PGUSER: info.user,
    PGDATABASE: info.database,
    PGPASSWORD: info.password,
    PGSSLMODE: 'disable',
    DATABASE_URL: connectionUri(info),
  };
}

/** libpq variables that would override or redirect the ones above, removed from a child's environment. */
export const CONFLICTING_LIBPQ_ENV = [
  'PGHOSTADDR',
  'PGSERVICE',
  'PGSSLCERT',
  'PGSSLKEY',
  'PGSSLROOTCERT',
  'PGREQUIRESSL',
  'PGGSSENCMODE',
  'PGTARGETSESSIONATTRS',
  'PGCHANNELBINDING',
];

export const PLACEHOLDERS = ['host', 'port', 'database', 'user'] as const;

/**
 * Fills `{host}`, `{port}`, `{database}` and `{user}` in a command's arguments. The secret has
 * no placeholder: arguments are visible to every local user (`ps`), so it travels only in
 * the child's environment.
 */
export function fillPlaceholders(args: readonly string[], info: ConnectionInfo): string[] {
  const values: Record<(typeof PLACEHOLDERS)[number], string> = {
    host: info.host,
    port: String(info.port),
    database: info.database,
    user: info.user,
  };
  return args.map((a) =>
    a.replace(/\{(host|port|database|user)\}/g, (_, k: keyof typeof values) => values[k]),
  );
}

/**
 * What a PostgreSQL client is told when the tunnel cannot carry its connection: a FATAL
 * ErrorResponse, which libpq, and so psql, prints whether it sent its startup packet or an
 * SSLRequest first. SQLSTATE 08004 when the broker refused it, 08001 when it could not be reached.
 */
export function postgresFailureReply(failure: ConnectionFailure): Buffer {
  return errorResponse({
    severity: 'FATAL',
    code: failure.kind === 'refused' ? '08004' : '08001',
    message: `gatectl: ${failure.message}`,
  });
}
