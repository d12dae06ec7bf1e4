import { describe, expect, it } from 'vitest';
import { startTestBroker } from './support/broker.js';

const target = {
  name: 'prod-db',
  kind: 'postgres' as const,
  address: '127.0.0.1:5432',
  database: 'app',
  credentials: { username: 'app' },
  access: {
    groups: ['engineers', 'deployers'],
    auto_approve: ['deployers'],
    approval: { approvers: ['dba-oncall'] },
    max_duration: '2h',
  },
};

async function call(url: string, token: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

describe('grant requests', () => {
  it('grants deployers automatically, holds engineers for approval and caps the duration', async () => {
    await using b = await startTestBroker({ targets: [target] });
    const ci = await b.token({ id: 'ci:acme/payments', kind: 'machine', groups: ['deployers'] });
    const auto = await call(b.url, ci, 'POST', '/v1/grants', {
      target: 'prod-db',
      reason: 'deploy',
      duration_ms: 10 * 3_600_000,
    });
    expect(auto.status).toBe(201);
    expect(auto.body.grant).toMatchObject({
      state: 'approved',
      duration_ms: 2 * 3_600_000,
      identity: 'ci:acme/payments',
    });
    const active = await call(b.url, ci, 'GET', '/v1/grants/active?target=prod-db');
    expect(active.body.grant.id).toBe(auto.body.grant.id);

    const alice = await b.token({ id: 'alice@example.com', groups: ['engineers'] });
    const pending = await call(b.url, alice, 'POST', '/v1/grants', {
      target: 'prod-db',
      reason: 'incident 42',
    });
    expect(pending.body.grant).toMatchObject({
      state: 'pending',
      approvals_required: 1,
      duration_ms: 3_600_000,
      can_decide: false,
    });
    expect((await call(b.url, alice, 'GET', '/v1/grants/active?target=prod-db')).body.grant).toBeNull();

    const types = (
      await b.broker.ctx.store.db.selectFrom('audit_events').select('type').orderBy('seq').execute()
    ).map((r) => r.type);
    expect(types).toEqual(['grant.auto_approved', 'grant.requested']);
  });

  it('refuses identities outside the access groups with 403 and an audit event', async () => {
    await using b = await startTestBroker({ targets: [target] });
    const carol = await b.token({ id: 'carol@example.com', groups: ['auditors'] });
    const r = await call(b.url, carol, 'POST', '/v1/grants', { target: 'prod-db', reason: 'look' });
    expect(r.status).toBe(403);
    expect(r.body.error.code).toBe('not_allowed');
    const ev = await b.broker.ctx.store.db.selectFrom('audit_events').selectAll().executeTakeFirstOrThrow();
    expect(ev).toMatchObject({ type: 'grant.refused', outcome: 'failure', actor: 'carol@example.com' });
    expect((await call(b.url, carol, 'POST', '/v1/grants', { target: 'nope' })).status).toBe(404);
  });
});
