import { type Kysely, type Migration, type MigrationProvider, Migrator } from 'kysely';
import type { Database } from './schema.types.js';
import { StoreError } from './store.js';

type Dialect = 'sqlite' | 'postgres';

/**
 * Migrations live in code so the compiled broker carries them. Names sort in order of
 * application; never edit one that has shipped, add the next.
 */
export function migrations(dialect: Dialect): Record<string, Migration> {
  const big = dialect === 'postgres' ? 'bigint' : 'integer';
  const serial = dialect === 'postgres' ? 'bigserial' : 'integer';
  return {
    '0001_initial': {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('identities')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('display_name', 'text')
          .addColumn('groups', 'text', (c) => c.notNull())
          .addColumn('issuer', 'text', (c) => c.notNull())
          .addColumn('first_seen_at', big, (c) => c.notNull())
          .addColumn('last_seen_at', big, (c) => c.notNull())
          .execute();

        await db.schema
          .createTable('signing_keys')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('purpose', 'text', (c) => c.notNull())
          .addColumn('private_pem', 'text', (c) => c.notNull())
          .addColumn('public_jwk', 'text', (c) => c.notNull())
          .addColumn('created_at', big, (c) => c.notNull())
          .addColumn('retired_at', big)
          .execute();

        await db.schema
          .createTable('revoked_tokens')
          .addColumn('jti', 'text', (c) => c.primaryKey())
          .addColumn('identity', 'text', (c) => c.notNull())
          .addColumn('expires_at', big, (c) => c.notNull())
          .addColumn('revoked_at', big, (c) => c.notNull())
          .execute();

        await db.schema
          .createTable('approval_requests')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('target', 'text', (c) => c.notNull())
          .addColumn('requester', 'text', (c) => c.notNull())
          .addColumn('requester_groups', 'text', (c) => c.notNull())
          .addColumn('reason', 'text')
          .addColumn('subject', 'text', (c) => c.notNull())
          .addColumn('state', 'text', (c) => c.notNull())
          .addColumn('min_approvals', 'integer', (c) => c.notNull())
          .addColumn('approver_groups', 'text', (c) => c.notNull())
          .addColumn('created_at', big, (c) => c.notNull())
          .addColumn('expires_at', big, (c) => c.notNull())
          .addColumn('decided_at', big)
          .execute();
        await db.schema
          .createIndex('approval_requests_state')
          .on('approval_requests')
          .columns(['state', 'expires_at'])
          .execute();

        await db.schema
          .createTable('approval_decisions')
          .addColumn('id', serial, (c) =>
            dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement(),
          )
          .addColumn('request_id', 'text', (c) => c.notNull().references('approval_requests.id'))
          .addColumn('approver', 'text', (c) => c.notNull())
          .addColumn('decision', 'text', (c) => c.notNull())
          .addColumn('comment', 'text')
          .addColumn('created_at', big, (c) => c.notNull())
          .addUniqueConstraint('approval_decisions_once', ['request_id', 'approver'])
          .execute();

        await db.schema
          .createTable('grants')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('request_id', 'text', (c) => c.references('approval_requests.id'))
          .addColumn('identity', 'text', (c) => c.notNull())
          .addColumn('target', 'text', (c) => c.notNull())
          .addColumn('reason', 'text')
          .addColumn('duration_ms', big, (c) => c.notNull())
          .addColumn('state', 'text', (c) => c.notNull())
          .addColumn('created_at', big, (c) => c.notNull())
          .addColumn('starts_at', big)
          .addColumn('ends_at', big)
          .addColumn('ended_at', big)
          .addColumn('end_reason', 'text')
          .addColumn('revoked_by', 'text')
          .execute();
        await db.schema
          .createIndex('grants_identity_target')
          .on('grants')
          .columns(['identity', 'target', 'state'])
          .execute();

        await db.schema
          .createTable('tunnels')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('grant_id', 'text', (c) => c.notNull().references('grants.id'))
          .addColumn('identity', 'text', (c) => c.notNull())
          .addColumn('target', 'text', (c) => c.notNull())
          .addColumn('secret_verifier', 'text', (c) => c.notNull())
          .addColumn('created_at', big, (c) => c.notNull())
          .addColumn('expires_at', big, (c) => c.notNull())
          .addColumn('closed_at', big)
          .execute();

        await db.schema
          .createTable('sessions')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('tunnel_id', 'text')
          .addColumn('grant_id', 'text')
          .addColumn('identity', 'text', (c) => c.notNull())
          .addColumn('target', 'text', (c) => c.notNull())
          .addColumn('protocol', 'text', (c) => c.notNull())
          .addColumn('client_addr', 'text')
          .addColumn('client_tool', 'text')
          .addColumn('started_at', big, (c) => c.notNull())
          .addColumn('ended_at', big)
          .addColumn('bytes_in', big, (c) => c.notNull().defaultTo(0))
          .addColumn('bytes_out', big, (c) => c.notNull().defaultTo(0))
          .addColumn('end_reason', 'text')
          .addColumn('recording_digest', 'text')
          .execute();
        await db.schema.createIndex('sessions_started').on('sessions').columns(['started_at']).execute();

        await db.schema
          .createTable('session_events')
          .addColumn('id', serial, (c) =>
            dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement(),
          )
          .addColumn('session_id', 'text', (c) => c.notNull())
          .addColumn('seq', 'integer', (c) => c.notNull())
          .addColumn('at', big, (c) => c.notNull())
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('statement', 'text')
          .addColumn('param_count', 'integer')
          .addColumn('command_tag', 'text')
          .addColumn('rows', big)
          .addColumn('duration_ms', dialect === 'postgres' ? 'double precision' : 'real')
          .addColumn('error', 'text')
          .addColumn('data', 'text')
          .execute();
        await db.schema
          .createIndex('session_events_session')
          .on('session_events')
          .columns(['session_id', 'seq'])
          .execute();

        await db.schema
          .createTable('audit_events')
          .addColumn('seq', big, (c) => c.primaryKey())
          .addColumn('id', 'text', (c) => c.notNull().unique())
          .addColumn('at', big, (c) => c.notNull())
          .addColumn('type', 'text', (c) => c.notNull())
          .addColumn('actor', 'text')
          .addColumn('outcome', 'text', (c) => c.notNull())
          .addColumn('origin', 'text')
          .addColumn('resource', 'text')
          .addColumn('data', 'text', (c) => c.notNull())
          .addColumn('prev_hash', 'text', (c) => c.notNull())
          .addColumn('hash', 'text', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('audit_events_type').on('audit_events').columns(['type', 'at']).execute();

        await db.schema
          .createTable('audit_checkpoints')
          .addColumn('seq', big, (c) => c.primaryKey())
          .addColumn('at', big, (c) => c.notNull())
          .addColumn('hash', 'text', (c) => c.notNull())
          .addColumn('key_id', 'text', (c) => c.notNull())
          .addColumn('signature', 'text', (c) => c.notNull())
          .execute();
      },
    },
    '0002_session_event_chunks': {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('session_event_chunks')
          .addColumn('session_id', 'text', (c) => c.notNull())
          .addColumn('first_seq', 'integer', (c) => c.notNull())
          .addColumn('last_seq', 'integer', (c) => c.notNull())
          .addColumn('count', 'integer', (c) => c.notNull())
          .addColumn('format', 'integer', (c) => c.notNull())
          .addColumn('events', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('session_event_chunks_pk', ['session_id', 'first_seq'])
          .execute();
      },
    },
  };
}

export function migrationProvider(dialect: Dialect): MigrationProvider {
  return { getMigrations: async () => migrations(dialect) };
}

export async function migrate(db: Kysely<Database>, dialect: Dialect): Promise<void> {
  const migrator = new Migrator({ db, provider: migrationProvider(dialect) });
  const { error } = await migrator.migrateToLatest();
  if (error) {
    throw new StoreError(`store migration failed: ${(error as Error).message}`, {
      code: 'store_migration',
      cause: error,
    });
  }
}
