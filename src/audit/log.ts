import { createHash } from 'node:crypto';
import { newId } from '../lib/ids.js';
import type { Store } from '../store/store.js';

export const GENESIS_HASH = '0'.repeat(64);

/**
 * What happened, in the terms of PCI DSS 10.2.2: who (`actor`), what (`type`), when (`at`),
 * success or failure (`outcome`), origin, affected resource, and details.
 */
export interface AuditEventInput {
  type: string;
  actor?: string | null;
  outcome?: 'success' | 'failure';
  origin?: string | null;
  resource?: string | null;
  data?: Record<string, unknown>;
  at?: number;
}

export interface AuditEvent {
  seq: number;
  id: string;
  at: number;
  type: string;
  actor: string | null;
  outcome: 'success' | 'failure';
  origin: string | null;
  resource: string | null;
  data: string;
  prev_hash: string;
  hash: string;
}

/** SHA-256 over the event's fields in a fixed order; the chain links each event to the one before. */
export function hashEvent(e: Omit<AuditEvent, 'hash'>): string {
  const canonical = JSON.stringify([
    e.seq,
    e.id,
    e.at,
    e.type,
    e.actor,
    e.outcome,
    e.origin,
    e.resource,
    e.data,
    e.prev_hash,
  ]);
  return createHash('sha256').update(canonical).digest('hex');
}

/** Appends one event to the hash chain; serialised across broker replicas by the store's lock. */
export async function appendAuditEvent(store: Store, input: AuditEventInput): Promise<AuditEvent> {
  return store.withLock('audit_chain', async (trx) => {
    const last = await trx
      .selectFrom('audit_events')
      .select(['seq', 'hash'])
      .orderBy('seq', 'desc')
      .limit(1)
      .executeTakeFirst();
    const base: Omit<AuditEvent, 'hash'> = {
      seq: (last?.seq ?? 0) + 1,
      id: newId('ev'),
      at: input.at ?? Date.now(),
      type: input.type,
      actor: input.actor ?? null,
      outcome: input.outcome ?? 'success',
      origin: input.origin ?? null,
      resource: input.resource ?? null,
      data: JSON.stringify(input.data ?? {}),
      prev_hash: last?.hash ?? GENESIS_HASH,
    };
    const event: AuditEvent = { ...base, hash: hashEvent(base) };
    await trx.insertInto('audit_events').values(event).execute();
    return event;
  });
}

/** Walks the chain and returns the first event whose hash or link does not match, or null. */
export async function verifyChain(
  store: Store,
): Promise<{ ok: true; count: number } | { ok: false; seq: number; reason: string }> {
  let prev = GENESIS_HASH;
  let expectedSeq = 1;
  let count = 0;
  const rows = await store.db.selectFrom('audit_events').selectAll().orderBy('seq').execute();
  for (const row of rows) {
    if (row.seq !== expectedSeq) return { ok: false, seq: row.seq, reason: `expected event ${expectedSeq}` };
    if (row.prev_hash !== prev)
      return { ok: false, seq: row.seq, reason: 'previous-hash link does not match' };
    const { hash, ...rest } = row;
    if (hashEvent(rest) !== hash)
      return { ok: false, seq: row.seq, reason: 'event hash does not match its contents' };
    prev = hash;
    expectedSeq++;
    count++;
  }
  return { ok: true, count };
}
