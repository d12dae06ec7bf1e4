import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBroker } from './support/broker.js';
import { startPostgres, type TestPostgres } from './support/postgres.js';

const target = {
  name: 'prod-db',
  kind: 'postgres' as const,
  address: '127.0.0.1:5432',
  database: 'app',
  credentials: { username: 'app' },
  access: { groups: ['engineers'], approval: { approvers: ['dba-oncall'] } },
};

async function call(url: string, token: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

describe('two brokers sharing a PostgreSQL store', () => {
  let pg: TestPostgres;
  beforeAll(async () => {
    pg = await startPostgres();
  });
  afterAll(async () => {
    await pg?.stop();
  });

  it('a decision on broker B releases a client waiting on broker A within one second', async () => {
    const store = await pg.createDatabase('grants_two_brokers');
    // One after the other: the second broker reuses the signing key the first stored.
    await using a = await startTestBroker({ store, targets: [target] });
    await using b = await startTestBroker({ store, targets: [target], approvals: { request_ttl: '2s' } });
    expect(a.broker.ctx.store.dialect).toBe('postgres');
    const alice = await a.token({ id: 'alice@example.com', groups: ['engineers'] });
    const bob = await b.token({ id: 'bob@example.com', groups: ['dba-oncall'] });

    for (const round of [1, 2, 3]) {
      const id = (await call(a.url, alice, 'POST', '/v1/grants', { target: 'prod-db', reason: `r${round}` }))
        .body.grant.id as string;
      const waiting = call(a.url, alice, 'GET', `/v1/grants/${id}/wait?timeout_ms=30000`).then((r) => ({
        ...r,
        at: Date.now(),
      }));
      // Let the long-poll subscribe before deciding.
      await new Promise((r) => setTimeout(r, 300));
      const decidedAt = Date.now();
      const decided = await call(b.url, bob, 'POST', `/v1/grants/${id}/approve`, { comment: `ok ${round}` });
      expect(decided.body.grant.state).toBe('approved');
      const done = await waiting;
      expect(done.body.grant.state).toBe('approved');
      expect(done.body.grant.decisions[0]).toMatchObject({
        approver: 'bob@example.com',
        comment: `ok ${round}`,
      });
      expect(done.at - decidedAt).toBeLessThan(1000);
    }

    // Expiry by whichever broker's sweeper wins, announced to the waiter on A, audited once.
    const id = (await call(a.url, alice, 'POST', '/v1/grants', { target: 'prod-db' })).body.grant.id;
    await b.broker.ctx.store.db
      .updateTable('approval_requests')
      .set({ expires_at: Date.now() + 500 })
      .execute();
    const expired = await call(a.url, alice, 'GET', `/v1/grants/${id}/wait?timeout_ms=10000`);
    expect(expired.body.grant.state).toBe('expired');
    await new Promise((r) => setTimeout(r, 1500));
    const events = await a.broker.ctx.store.db
      .selectFrom('audit_events')
      .select('type')
      .where('type', '=', 'grant.expired')
      .execute();
    expect(events).toHaveLength(1);
  });
});
