import { readFileSync } from 'node:fs';
import Fastify, { type FastifyInstance } from 'fastify';
import pino, { type Logger } from 'pino';
import { appendAuditEvent } from '../audit/log.js';
import { BrokerTokens } from '../auth/broker-token.js';
import { openStore, type Store } from '../store/store.js';
import { configRelative, type LoadedConfig } from './config/load.js';
import type { BrokerContext } from './context.js';
import { startGrantSweeper } from './grants/sweeper.js';
import { HttpError } from './http-error.js';
import { routes } from './routes/index.js';

export interface BrokerOptions {
  loaded: LoadedConfig;
  /** An already open store (tests, the dev stack); otherwise opened from `config.store`. */
  store?: Store;
  /** Where JSON logs go; defaults to stdout. */
  logger?: Logger;
  /** Overrides `listen` (tests pass port 0). */
  listen?: { host: string; port: number };
}

export interface Broker {
  ctx: BrokerContext;
  app: FastifyInstance;
  /** Base URL once listening, e.g. `http://127.0.0.1:7420`. */
  url: string;
  close(): Promise<void>;
}

/** Paths and keys pino must never print. */
export const LOG_REDACT = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  '*.password',
  '*.token',
  '*.id_token',
  '*.refresh_token',
  '*.secret',
];

/**
 * Requests are logged by method and path only: a query string may carry a token or a password
 * (a client that puts one there by mistake must not leave it in the log), and headers are
 * left out entirely rather than redacted one by one.
 */
function serializeRequest(req: {
  method?: string;
  url?: string;
  ip?: string;
  socket?: { remotePort?: number };
}) {
  const url = req.url ?? '';
  const q = url.indexOf('?');
  return {
    method: req.method,
    path: q < 0 ? url : url.slice(0, q),
    ...(q >= 0 ? { query: '[omitted]' } : {}),
    remoteAddress: req.ip,
    remotePort: req.socket?.remotePort,
  };
}

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      redact: { paths: LOG_REDACT, censor: '[redacted]' },
      base: { svc: 'gatectl-broker' },
      serializers: { req: serializeRequest, err: pino.stdSerializers.err },
    },
    destination as pino.DestinationStream,
  );
}

export async function startBroker(options: BrokerOptions): Promise<Broker> {
  const { loaded } = options;
  const config = loaded.config;
  const log = options.logger ?? createLogger(config.log.level);
  const baseDir = loaded.file.includes('/')
    ? loaded.file.slice(0, loaded.file.lastIndexOf('/'))
    : process.cwd();
  const store = options.store ?? (await openStore(config.store, { baseDir, startEventThread: true }));
  const closers: Array<() => Promise<void> | void> = [];
  if (!options.store) closers.push(() => store.close());
  try {
    return await serve(options, store, log, closers);
  } catch (err) {
    // A broker that cannot start (a port in use, a bad TLS file) leaves nothing open behind:
    // the store with its event thread, and what the routes set up, are closed.
    await runClosers(closers, log);
    throw err;
  }
}

/** Runs the shutdown steps, last registered first; one that fails does not stop the others. */
async function runClosers(closers: Array<() => Promise<void> | void>, log: Logger): Promise<void> {
  for (const fn of closers.reverse()) {
    try {
      await fn();
    } catch (err) {
      log.warn({ err }, 'error during shutdown');
    }
  }
}

async function serve(
  options: BrokerOptions,
  store: Store,
  log: Logger,
  closers: Array<() => Promise<void> | void>,
): Promise<Broker> {
  const { loaded } = options;
  const config = loaded.config;
  const tokens = await BrokerTokens.open(
    store,
    config.auth.session.signing_key ? loaded.secret(config.auth.session.signing_key) : undefined,
  );
  const ctx: BrokerContext = {
    loaded,
    config,
    store,
    log,
    tokens,
    audit: (event) => appendAuditEvent(store, event),
    now: () => Date.now(),
    onClose: (fn) => {
      closers.push(fn);
    },
  };

  const https = config.tls
    ? {
        key: readFileSync(configRelative(loaded.file, config.tls.key)),
        cert: readFileSync(configRelative(loaded.file, config.tls.cert)),
      }
    : null;
  const app = Fastify({
    loggerInstance: log,
    bodyLimit: 1024 * 1024,
    trustProxy: false,
    ...(https ? { https } : {}),
  }) as unknown as FastifyInstance;

  app.setErrorHandler((err, req, reply) => {
    if (err instanceof HttpError) {
      return reply.code(err.status).send({ error: { code: err.code, message: err.message, ...err.details } });
    }
    const e = err as { statusCode?: number; code?: string; message?: string; validation?: unknown };
    if (e.validation || (e.statusCode && e.statusCode >= 400 && e.statusCode < 500)) {
      return reply
        .code(e.statusCode ?? 400)
        .send({ error: { code: 'bad_request', message: e.message ?? 'bad request' } });
    }
    req.log.error({ err }, 'request failed');
    return reply
      .code(500)
      .send({ error: { code: 'internal', message: 'internal error (see the broker log)' } });
  });
  app.setNotFoundHandler((req, reply) => {
    reply.code(404).send({
      error: { code: 'not_found', message: `no such endpoint: ${req.method} ${req.url.split('?')[0]}` },
    });
  });

  for (const register of routes) register(app, ctx);
  startGrantSweeper(ctx);

  const [host, port] = options.listen
    ? [options.listen.host, options.listen.port]
    : splitListen(config.listen);
  try {
    await app.listen({ host, port });
  } catch (err) {
    await app.close().catch(() => {});
    throw err;
  }
  const addr = app.server.address();
  const boundPort = typeof addr === 'object' && addr ? addr.port : port;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  const url = `${https ? 'https' : 'http'}://${urlHost}:${boundPort}`;
  log.info({ url, store: store.dialect, targets: config.targets.length }, 'broker listening');

  let closed = false;
  return {
    ctx,
    app,
    url,
    async close() {
      if (closed) return;
      closed = true;
      await app.close();
      await runClosers(closers, log);
    },
  };
}

export function splitListen(listen: string): [string, number] {
  const i = listen.lastIndexOf(':');
  return [listen.slice(0, i).replace(/^\[|\]$/g, ''), Number(listen.slice(i + 1))];
}
