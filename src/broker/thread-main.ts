import { parentPort, resourceLimits, workerData } from 'node:worker_threads';
import { StoreError } from '../store/store.js';
import { ConfigError, loadConfig } from './config/load.js';
import { type Broker, startBroker } from './server.js';
import type { BrokerStartFailure, FromBrokerThread, ToBrokerThread } from './thread.js';

/** The broker thread of `gatectl broker start` (see thread.ts). */
const port = parentPort;
if (!port) throw new Error('thread-main.js runs as a worker thread of `gatectl broker start`');
const { configFile } = workerData as { configFile: string };

function failure(err: unknown): BrokerStartFailure {
  const e = err as NodeJS.ErrnoException;
  if (err instanceof ConfigError) return { kind: 'config', message: e.message, code: e.code };
  if (err instanceof StoreError) return { kind: 'store', message: e.message, code: e.code };
  if (typeof e?.code === 'string' && typeof e.syscall === 'string')
    return { kind: 'errno', message: e.message, code: e.code };
  return { kind: 'other', message: e?.message ?? String(err), ...(e?.stack ? { stack: e.stack } : {}) };
}

const post = (m: FromBrokerThread) => port.postMessage(m);

let broker: Broker | undefined;
try {
  broker = await startBroker({ loaded: loadConfig(configFile, { env: process.env }) });
} catch (err) {
  post({ type: 'failed', failure: failure(err) });
  port.close();
}
if (broker) {
  const running = broker;
  running.ctx.log.info({ resourceLimits }, 'broker thread');
  // An error nothing caught ends the thread (and `broker start` with it, exit 1); the log says so
  // too, for whoever reads the log rather than the terminal.
  process.on('uncaughtExceptionMonitor', (err) => running.ctx.log.fatal({ err }, 'broker thread failed'));
  port.on('message', async (m: ToBrokerThread) => {
    if (m.type !== 'stop') return;
    port.close();
    running.ctx.log.info('shutting down');
    await running.close();
  });
  post({ type: 'listening', url: running.url });
}
