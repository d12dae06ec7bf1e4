import { join } from 'node:path';
import type { BrokerConfigInput } from '../config/schema.js';
import type { DemoDatabase } from './demo-database.js';

export interface DevBrokerConfigOptions {
  dataDir: string;
  /** `host:port` the broker listens on (loopback). */
  listen: string;
  demo: Pick<DemoDatabase, 'host' | 'port' | 'database' | 'username' | 'passwordFile'>;
  /** The `auth` block, from the dev identity provider and CI issuer when they run. */
  auth?: BrokerConfigInput['auth'];
}

/**
 * The broker configuration of the dev stack: a SQLite store in the data directory and one
 * target, `demo-db`, whose credentials the broker holds (a `{ file }` secret, mode 0600).
 * Engineers and deployers may request it; deployers are approved automatically, everyone
 * else waits for the DBA on call.
 */
export function devBrokerConfig(options: DevBrokerConfigOptions): BrokerConfigInput {
  const { demo } = options;
  return {
    listen: options.listen,
    store: `sqlite://${join(options.dataDir, 'broker.db')}`,
    log: { level: 'info' },
    ...(options.auth ? { auth: options.auth } : {}),
    targets: [
      {
        name: 'demo-db',
        kind: 'postgres',
        description: 'demo payments database (dev stack)',
        address: `${demo.host}:${demo.port}`,
        database: demo.database,
        // Loopback to a throwaway server; a real target uses verify-full.
        tls: { mode: 'disable' },
        credentials: { username: demo.username, password: { file: demo.passwordFile } },
        access: {
          groups: ['engineers', 'deployers'],
          auto_approve: ['deployers'],
          approval: { approvers: ['dba-oncall'], min_approvals: 1 },
          max_duration: '4h',
          default_duration: '1h',
        },
        statements: [
          { when: { kind: ['drop', 'truncate', 'alter_system'] }, action: 'deny' },
          { when: { kind: ['insert', 'update', 'delete', 'copy_from', 'ddl'] }, action: 'approve' },
        ],
        masking: { card_numbers: 'show_last4', columns: { 'payments.cards.cvv': 'redact' } },
        recording: { results: 'masked', max_rows_per_query: 100 },
      },
    ],
  };
}
