import { randomBytes } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import pino from 'pino';
import { type PostgresTargetConfig, postgresTarget } from '../../src/broker/config/schema.js';
import { Secret } from '../../src/lib/secret.js';
import { servePostgresClient } from '../../src/proxy/postgres/engine.js';
import type {
  SessionEndInfo,
  SessionStartInfo,
  StatementEvent,
} from '../../src/proxy/postgres/engine.types.js';
import { createScramVerifier } from '../../src/proxy/postgres/scram.js';

export interface RecordedSession {
  start: SessionStartInfo | null;
  statements: StatementEvent[];
  end: SessionEndInfo | null;
  /** Aborts this session the way an ended grant does. */
  abort(reason: string): void;
  /** Every byte the engine wrote to this client. */
  sentToClient(): Buffer;
  ended: Promise<void>;
}

export interface EngineHarness {
  port: number;
  /** The one-time secret a client authenticates with. */
  secret: string;
  target: PostgresTargetConfig;
  sessions: RecordedSession[];
  /** Everything the engine logged, as JSON lines. */
  logs(): string;
  /** `postgres://…` for the engine, with the tunnel secret. */
  url(database?: string): string;
  /** Environment for psql/pgbench pointed at the engine. */
  env(): NodeJS.ProcessEnv;
  /** Resolves once the first `n` connections have been served to the end. */
  waitForEnded(n: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

export interface EngineHarnessOptions {
  /** Target fields (address, database, credentials, tls, max_message_size). */
  target: Record<string, unknown>;
  upstreamPassword?: string;
  /** Aborts every session this long after it starts (a grant that expires). */
  abortAfterMs?: number;
}

/**
 * The broker's PostgreSQL engine behind a plain TCP server, as the tunnel endpoint will run
 * it: each accepted socket goes to servePostgresClient with a fresh verifier and hooks that
 * record what the engine reports.
 */
export async function startEngine(options: EngineHarnessOptions): Promise<EngineHarness> {
  const secret = randomBytes(18).toString('base64url');
  const verifier = createScramVerifier(secret);
  const target = postgresTarget.parse({
    name: 'testdb',
    kind: 'postgres',
    access: { groups: ['dev'] },
    ...options.target,
  });
  const logLines: string[] = [];
  const log = pino(
    { level: 'debug' },
    new Writable({
      write(chunk, _enc, cb) {
        logLines.push(String(chunk));
        cb();
      },
    }),
  );
  const sessions: RecordedSession[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    const controller = new AbortController();
    const sent: Buffer[] = [];
    const write = socket.write.bind(socket);
    const end = socket.end.bind(socket);
    // A tap on the engine's side of the socket: what it sends, unchanged.
    socket.write = ((chunk: Buffer | string, ...rest: never[]) => {
      sent.push(Buffer.from(chunk));
      return write(chunk, ...rest);
    }) as typeof socket.write;
    socket.end = ((chunk?: unknown, ...rest: never[]) => {
      if (Buffer.isBuffer(chunk)) sent.push(Buffer.from(chunk));
      return end(chunk as never, ...rest);
    }) as typeof socket.end;
    const session: RecordedSession = {
      start: null,
      statements: [],
      end: null,
      abort: (reason) => controller.abort(reason),
      sentToClient: () => Buffer.concat(sent),
      ended: Promise.resolve(),
    };
    sessions.push(session);
    let timer: NodeJS.Timeout | undefined;
    session.ended = servePostgresClient(socket, {
      target,
      upstreamPassword:
        options.upstreamPassword === undefined ? undefined : new Secret(options.upstreamPassword, 'test'),
      clientVerifier: verifier,
      clientAddr: `${socket.remoteAddress}:${socket.remotePort}`,
      log,
      signal: controller.signal,
      hooks: {
        onStart(info) {
          session.start = info;
          if (options.abortAfterMs !== undefined) {
            timer = setTimeout(
              () => controller.abort('gatectl: grant gr_test expired'),
              options.abortAfterMs,
            );
          }
        },
        onStatement(event) {
          session.statements.push(event);
        },
        onEnd(info) {
          clearTimeout(timer);
          session.end = info;
        },
      },
    }).catch((err: unknown) => {
      logLines.push(`servePostgresClient rejected: ${String(err)}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const close = async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await Promise.all(sessions.map((s) => s.ended));
  };
  return {
    port,
    secret,
    target,
    sessions,
    logs: () => logLines.join(''),
    url: (database = 'anything') =>
      `postgres://someone:${encodeURIComponent(secret)}@127.0.0.1:${port}/${database}?sslmode=disable`,
    env: () => ({
      ...process.env,
      PGHOST: '127.0.0.1',
      PGPORT: String(port),
      PGUSER: 'someone',
      PGDATABASE: 'anything',
      PGPASSWORD: secret,
      PGSSLMODE: 'disable',
      PGCONNECT_TIMEOUT: '10',
    }),
    async waitForEnded(n, timeoutMs = 10_000) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          const open = sessions.slice(0, n).filter((s) => !s.end).length;
          reject(new Error(`${open} of the first ${n} connections still open`));
        }, timeoutMs);
      });
      try {
        await Promise.race([Promise.all(sessions.slice(0, n).map((s) => s.ended)), timeout]);
      } finally {
        clearTimeout(timer);
      }
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}
