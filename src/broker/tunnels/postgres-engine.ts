import type { ServePostgresClient } from '../../proxy/postgres/engine.types.js';

/** What the tunnel endpoint needs from the PostgreSQL engine (see `engine.types.ts`). */
export interface PostgresEngine {
  servePostgresClient: ServePostgresClient;
  createScramVerifier(secret: string): string;
}

let loading: Promise<PostgresEngine> | undefined;

/**
 * Imports the engine on first use, so a broker that serves only the HTTP API (and the CLI,
 * which shares this package) never loads protocol code it does not need.
 */
export function postgresEngine(): Promise<PostgresEngine> {
  loading ??= Promise.all([
    import(ENGINE_MODULE) as Promise<Pick<PostgresEngine, 'servePostgresClient'>>,
    import(SCRAM_MODULE) as Promise<Pick<PostgresEngine, 'createScramVerifier'>>,
  ]).then(([engine, scram]) => ({
    servePostgresClient: engine.servePostgresClient,
    createScramVerifier: scram.createScramVerifier,
  }));
  return loading;
}

const ENGINE_MODULE = '../../proxy/postgres/engine.js';
const SCRAM_MODULE = '../../proxy/postgres/scram.js';

/** Replaces the engine (plumbing tests before the engine exists); `undefined` restores the real one. */
export function overridePostgresEngine(engine: PostgresEngine | undefined): void {
  loading = engine ? Promise.resolve(engine) : undefined;
}
