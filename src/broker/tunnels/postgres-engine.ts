import type { ServePostgresClient } from '../../proxy/postgres/engine.types.js';

/** What the tunnel endpoint needs from the PostgreSQL engine (see `engine.types.ts`). */
export interface PostgresEngine {
  servePostgresClient: ServePostgresClient;
  createScramVerifier(secret: string): string;
}

let loading: Promise<PostgresEngine> | undefined;

/**
 * Imports the engine on first use, so a broker process that never opens a tunnel, and the CLI
 * sharing this package, do not load protocol code.
 */
export function postgresEngine(): Promise<PostgresEngine> {
  loading ??= import('../../proxy/postgres/engine.js');
  return loading;
}
