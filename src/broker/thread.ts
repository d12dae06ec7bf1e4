import { type ResourceLimits, Worker } from 'node:worker_threads';

/**
 * The V8 heap limits of the thread `gatectl broker start` runs the broker on.
 *
 * V8 doubles a young generation whose objects keep surviving, up to two 16 MiB semi-spaces on
 * 64-bit. A broker setting up many sessions at once is exactly that (each keeps about 20 KiB of
 * objects), so 500 sessions grew the young generation from 1–4 MiB to 32 MiB: 64 KiB per
 * connection of memory that no connection holds, and that V8 gives back only when it pleases.
 * Capped at two 2 MiB semi-spaces (plus 2 MiB for large new objects), scavenges run more often
 * and cost nothing measurable at eight `pgbench` clients (bench/README.md, "500 connections").
 * Node can only set this when an isolate is created, hence a thread of its own rather than a
 * flag of the running process.
 */
export const BROKER_RESOURCE_LIMITS: ResourceLimits = { maxYoungGenerationSizeMb: 6 };

/** Why the broker thread did not start, in a form that crosses the thread boundary. */
export interface BrokerStartFailure {
  /** `config`: a ConfigError; `store`: a StoreError; `errno`: a system error (its code set). */
  kind: 'config' | 'store' | 'errno' | 'other';
  message: string;
  code?: string;
  stack?: string;
}

/** Messages from the broker thread. */
export type FromBrokerThread =
  | { type: 'listening'; url: string }
  | { type: 'failed'; failure: BrokerStartFailure };

/** Messages to the broker thread. */
export type ToBrokerThread = { type: 'stop' };

export class BrokerStartError extends Error {
  readonly failure: BrokerStartFailure;
  constructor(failure: BrokerStartFailure) {
    super(failure.message);
    this.name = new.target.name;
    this.failure = failure;
  }
}

export interface BrokerThread {
  url: string;
  /** Settles when the thread has ended; rejects when it ended on an error of its own. */
  ended: Promise<void>;
  /** Asks the broker to shut down gracefully (stop accepting, finish, close the store) and waits. */
  stop(): Promise<void>;
}

/**
 * Starts the broker configured by `configFile` on a thread of its own (see
 * {@link BROKER_RESOURCE_LIMITS}) and resolves once it listens. Its logs go to this process's
 * stdout as before: pino writes to file descriptor 1 directly.
 */
export function startBrokerThread(options: {
  configFile: string;
  env: NodeJS.ProcessEnv;
}): Promise<BrokerThread> {
  const worker = new Worker(new URL('./thread-main.js', import.meta.url), {
    workerData: { configFile: options.configFile },
    env: { ...options.env },
    resourceLimits: BROKER_RESOURCE_LIMITS,
  });
  const ended = new Promise<void>((resolve, reject) => {
    worker.once('error', reject);
    worker.once('exit', (code) => {
      if (code === 0) resolve();
      else reject(new Error(`the broker thread exited with code ${code}`));
    });
  });
  return new Promise<BrokerThread>((resolve, reject) => {
    // A thread that ends before it listens has either said why or failed on its own.
    ended.then(
      () => reject(new Error('the broker thread ended before it listened')),
      (err: unknown) => reject(err),
    );
    worker.on('message', (m: FromBrokerThread) => {
      if (m.type === 'failed') reject(new BrokerStartError(m.failure));
      else if (m.type === 'listening')
        resolve({
          url: m.url,
          ended,
          stop: async () => {
            worker.postMessage({ type: 'stop' } satisfies ToBrokerThread);
            await ended;
          },
        });
    });
  });
}
