import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { stringify } from 'yaml';
import type { BrokerIdentity } from '../../src/auth/broker-token.js';
import { loadConfig } from '../../src/broker/config/load.js';
import type { BrokerConfigInput } from '../../src/broker/config/schema.js';
import { type Broker, createLogger, startBroker } from '../../src/broker/server.js';

export interface TestBroker {
  broker: Broker;
  url: string;
  dir: string;
  configFile: string;
  /** A broker session token for an identity, as `gatectl login` would obtain. */
  token(identity: Partial<BrokerIdentity> & { id: string }, ttlMs?: number): Promise<string>;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * A real broker on 127.0.0.1:0 in this process, from a config written to a temporary file
 * (so file/line reporting and relative paths behave as in production).
 */
export async function startTestBroker(
  config: BrokerConfigInput,
  options: { env?: NodeJS.ProcessEnv; logger?: Logger } = {},
): Promise<TestBroker> {
  const dir = mkdtempSync(join(tmpdir(), 'gatectl-broker-'));
  const configFile = join(dir, 'broker.yaml');
  writeFileSync(
    configFile,
    stringify({ store: `sqlite://${join(dir, 'broker.db')}`, ...config, listen: '127.0.0.1:0' }),
  );
  const loaded = loadConfig(configFile, { env: { ...process.env, ...options.env } });
  const logLevel = process.env.GATECTL_TEST_LOG ? 'debug' : 'silent';
  const broker = await startBroker({
    loaded,
    logger: options.logger ?? createLogger(logLevel, process.stderr),
  });
  const close = async () => {
    await broker.close();
    rmSync(dir, { recursive: true, force: true });
  };
  return {
    broker,
    url: broker.url,
    dir,
    configFile,
    async token(identity, ttlMs = 3_600_000) {
      const { token } = await broker.ctx.tokens.issue(
        { kind: 'human', groups: [], ...identity } as BrokerIdentity,
        ttlMs,
      );
      return token;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}
