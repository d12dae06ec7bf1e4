import type { Logger } from 'pino';
import type { AuditEvent, AuditEventInput } from '../audit/log.js';
import type { BrokerTokens } from '../auth/broker-token.js';
import type { Store } from '../store/store.js';
import type { LoadedConfig } from './config/load.js';
import type { BrokerConfig } from './config/schema.js';

/** What every route and engine of a running broker shares. */
export interface BrokerContext {
  loaded: LoadedConfig;
  config: BrokerConfig;
  store: Store;
  log: Logger;
  tokens: BrokerTokens;
  audit(event: AuditEventInput): Promise<AuditEvent>;
  now(): number;
  /** Disposers run (in reverse order) when the broker shuts down. */
  onClose(fn: () => Promise<void> | void): void;
}
