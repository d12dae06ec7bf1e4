import { describe, expect, it } from 'vitest';
import { registerApprovalKind } from '../src/broker/approvals/kinds.js';
import { createApprovalRequest, decide, type KindHandler } from '../src/broker/approvals/requests.js';
import { startTestBroker, type TestBroker } from './support/broker.js';

const target = (over: Record<string, unknown> = {}) => ({
  name: 'prod-db',
  kind: 'postgres' as const,
  address: '127.0.0.1:5432',
  database: 'app',
  credentials: { username: 'app' },
  access: {
    groups: ['engineers', 'deployers'],
    auto_approve: ['deployers'],
    approval: { approvers: ['dba-oncall'], min_approvals: 1 },
    max_duration: '2h',
    ...over,
  },
});

async function call(url: string, token: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

async function people(b: TestBroker) {
  return {
    alice: await b.token({ id: 'alice@example.com', groups: ['engineers'] }),
    bob: await b.token({ id: 'bob@example.com', groups: ['engineers', 'dba-oncall'] }),
    dave: await b.token({ id: 'dave@example.com', groups: ['dba-oncall'] }),
    carol: await b.token({ id: 'carol@example.com', groups: ['auditors'] }),
    ci: await b.token({ id: 'ci:acme/payments', kind: 'machine', groups: ['deployers'] }),
  };
}

async function auditTypes(b: TestBroker) {
  return (await b.broker.ctx.store.db.selectFrom('audit_events').select('type').orderBy('seq').execute()).map(
    (r) => r.type,
  );
}

describe('grant decisions', () => {
  it('needs min_approvals distinct approvers, refuses self-approval and non-approvers, records who/when/why', async () => {
    await using b = await startTestBroker({
      targets: [target({ approval: { approvers: ['dba-oncall'], min_approvals: 2 } })],
    });
    const p = await people(b);
    const req = await call(b.url, p.bob, 'POST', '/v1/grants', { target: 'prod-db', reason: 'incident 7' });
    const id = req.body.grant.id as string;
    expect(req.body.grant.state).toBe('pending');

    const own = await call(b.url, p.bob, 'POST', `/v1/grants/${id}/approve`, {});
    expect(own.status).toBe(403);
    expect(own.body.error.code).toBe('own_request');
    expect(own.body.error.message).toContain('your own');

    const carol = await call(b.url, p.carol, 'POST', `/v1/grants/${id}/approve`, {});
    expect(carol.status).toBe(403);
    expect(carol.body.error).toMatchObject({ code: 'not_an_approver' });
    expect(carol.body.error.message).toContain('only members of dba-oncall');
    expect(carol.body.error.message).toContain('auditors');

    // carol cannot see it either
    expect((await call(b.url, p.carol, 'GET', `/v1/grants/${id}`)).status).toBe(404);

    const first = await call(b.url, p.dave, 'POST', `/v1/grants/${id}/approve`, { comment: 'ok from dave' });
    expect(first.status).toBe(200);
    expect(first.body.grant).toMatchObject({ state: 'pending', approvals_required: 2, can_decide: false });
    expect(first.body.grant.decisions).toMatchObject([
      { approver: 'dave@example.com', decision: 'approve', comment: 'ok from dave' },
    ]);
    const again = await call(b.url, p.dave, 'POST', `/v1/grants/${id}/approve`, {});
    expect(again.status).toBe(409);

    // A second approver settles it.
    const erin = await b.token({ id: 'erin@example.com', groups: ['dba-oncall'] });
    const second = await call(b.url, erin, 'POST', `/v1/grants/${id}/approve`, { comment: 'second' });
    expect(second.body.grant.state).toBe('approved');
    expect(Date.parse(second.body.grant.ends_at) - Date.parse(second.body.grant.starts_at)).toBe(3_600_000);
    expect((await call(b.url, p.bob, 'GET', '/v1/grants/active?target=prod-db')).body.grant.id).toBe(id);

    const decisions = await b.broker.ctx.store.db.selectFrom('approval_decisions').selectAll().execute();
    expect(decisions.map((d) => [d.approver, d.decision, d.comment])).toEqual([
      ['dave@example.com', 'approve', 'ok from dave'],
      ['erin@example.com', 'approve', 'second'],
    ]);
    expect(decisions.every((d) => typeof d.created_at === 'number' && d.created_at > 0)).toBe(true);
    const types = await auditTypes(b);
    expect(types).toEqual([
      'grant.requested',
      'grant.decision_refused',
      'grant.decision_refused',
      'grant.approval_recorded',
      'grant.approved',
    ]);
  });

  it('denies with a required reason that the requester sees', async () => {
    await using b = await startTestBroker({ targets: [target()] });
    const p = await people(b);
    const id = (await call(b.url, p.alice, 'POST', '/v1/grants', { target: 'prod-db', reason: 'x' })).body
      .grant.id;
    const noReason = await call(b.url, p.bob, 'POST', `/v1/grants/${id}/deny`, {});
    expect(noReason.status).toBe(400);
    const denied = await call(b.url, p.bob, 'POST', `/v1/grants/${id}/deny`, { reason: 'use the replica' });
    expect(denied.body.grant).toMatchObject({ state: 'denied', end_reason: 'use the replica' });
    const seen = await call(b.url, p.alice, 'GET', `/v1/grants/${id}`);
    expect(seen.body.grant.decisions).toMatchObject([
      { approver: 'bob@example.com', decision: 'deny', comment: 'use the replica' },
    ]);
    const late = await call(b.url, p.dave, 'POST', `/v1/grants/${id}/approve`, {});
    expect(late.status).toBe(409);
    expect(await auditTypes(b)).toEqual(['grant.requested', 'grant.denied']);
  });

  it('lists mine, approvable and all, filtered by state', async () => {
    await using b = await startTestBroker({ targets: [target()] });
    const p = await people(b);
    const a = (await call(b.url, p.alice, 'POST', '/v1/grants', { target: 'prod-db', reason: 'a' })).body
      .grant.id;
    const c = (await call(b.url, p.ci, 'POST', '/v1/grants', { target: 'prod-db', reason: 'deploy' })).body
      .grant.id;
    const mine = await call(b.url, p.alice, 'GET', '/v1/grants?scope=mine');
    expect(mine.body.grants.map((g: any) => g.id)).toEqual([a]);
    const approvable = await call(b.url, p.bob, 'GET', '/v1/grants?scope=approvable');
    expect(approvable.body.grants.map((g: any) => g.id)).toEqual([a]);
    expect(approvable.body.grants[0]).toMatchObject({ can_decide: true, approver_groups: ['dba-oncall'] });
    expect((await call(b.url, p.alice, 'GET', '/v1/grants?scope=approvable')).body.grants).toEqual([]);
    const all = await call(b.url, p.bob, 'GET', '/v1/grants?scope=all');
    expect(all.body.grants.map((g: any) => g.id).sort()).toEqual([a, c].sort());
    const approved = await call(b.url, p.bob, 'GET', '/v1/grants?scope=all&state=approved');
    expect(approved.body.grants.map((g: any) => g.id)).toEqual([c]);
    expect((await call(b.url, p.carol, 'GET', '/v1/grants?scope=all')).body.grants).toEqual([]);
    expect((await call(b.url, p.bob, 'GET', '/v1/grants?state=nope')).status).toBe(400);
  });

  it('revokes by an approver or the holder, not by others; the requester withdraws', async () => {
    await using b = await startTestBroker({ targets: [target()] });
    const p = await people(b);
    const g = (await call(b.url, p.ci, 'POST', '/v1/grants', { target: 'prod-db' })).body.grant.id;
    const bad = await call(b.url, p.alice, 'POST', `/v1/grants/${g}/revoke`, { reason: 'mine now' });
    expect(bad.status).toBe(404);
    const r = await call(b.url, p.bob, 'POST', `/v1/grants/${g}/revoke`, { reason: 'incident over' });
    expect(r.body.grant).toMatchObject({
      state: 'revoked',
      end_reason: 'incident over',
      revoked_by: 'bob@example.com',
    });
    expect((await call(b.url, p.ci, 'GET', '/v1/grants/active?target=prod-db')).body.grant).toBeNull();

    const g2 = (await call(b.url, p.ci, 'POST', '/v1/grants', { target: 'prod-db' })).body.grant.id;
    const self = await call(b.url, p.ci, 'POST', `/v1/grants/${g2}/revoke`, {});
    expect(self.body.grant).toMatchObject({ state: 'revoked', revoked_by: 'ci:acme/payments' });

    const pend = (await call(b.url, p.alice, 'POST', '/v1/grants', { target: 'prod-db' })).body.grant.id;
    expect((await call(b.url, p.bob, 'POST', `/v1/grants/${pend}/withdraw`)).status).toBe(403);
    const w = await call(b.url, p.alice, 'POST', `/v1/grants/${pend}/withdraw`);
    expect(w.body.grant).toMatchObject({ state: 'ended', end_reason: 'withdrawn by the requester' });
    const req = await b.broker.ctx.store.db
      .selectFrom('approval_requests')
      .select('state')
      .executeTakeFirstOrThrow();
    expect(req.state).toBe('withdrawn');
    expect(await auditTypes(b)).toEqual([
      'grant.auto_approved',
      'grant.revoke_refused',
      'grant.revoked',
      'grant.auto_approved',
      'grant.revoked',
      'grant.requested',
      'grant.withdrawn',
    ]);
  });

  it('expires undecided requests and ends grants at their end time (sweeper)', async () => {
    await using b = await startTestBroker({ targets: [target()], approvals: { request_ttl: '1s' } });
    const p = await people(b);
    const pend = (await call(b.url, p.alice, 'POST', '/v1/grants', { target: 'prod-db' })).body.grant.id;
    const short = (await call(b.url, p.ci, 'POST', '/v1/grants', { target: 'prod-db', duration_ms: 1200 }))
      .body.grant.id;
    const waited = await call(b.url, p.alice, 'GET', `/v1/grants/${pend}/wait?timeout_ms=5000`);
    expect(waited.body.grant).toMatchObject({ state: 'expired' });
    const deadline = Date.now() + 5000;
    let state = '';
    while (Date.now() < deadline) {
      state = (await call(b.url, p.ci, 'GET', `/v1/grants/${short}`)).body.grant.state;
      if (state === 'ended') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(state).toBe('ended');
    const types = await auditTypes(b);
    expect(types).toContain('grant.expired');
    expect(types).toContain('grant.ended');
  });

  it('long-poll returns at the decision, or still pending at the timeout', async () => {
    await using b = await startTestBroker({ targets: [target()] });
    const p = await people(b);
    const id = (await call(b.url, p.alice, 'POST', '/v1/grants', { target: 'prod-db' })).body.grant.id;
    const t0 = Date.now();
    const timedOut = await call(b.url, p.alice, 'GET', `/v1/grants/${id}/wait?timeout_ms=300`);
    expect(timedOut.body.grant.state).toBe('pending');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
    const waiting = call(b.url, p.alice, 'GET', `/v1/grants/${id}/wait?timeout_ms=20000`);
    await new Promise((r) => setTimeout(r, 200));
    const decidedAt = Date.now();
    await call(b.url, p.bob, 'POST', `/v1/grants/${id}/approve`, { comment: 'go' });
    const done = await waiting;
    expect(done.body.grant.state).toBe('approved');
    expect(Date.now() - decidedAt).toBeLessThan(1000);

    // The list long-poll answers when the list differs from the client's etag.
    const list = await call(b.url, p.bob, 'GET', '/v1/grants?scope=all');
    const changed = call(b.url, p.bob, 'GET', `/v1/grants?scope=all&etag=${list.body.etag}&timeout_ms=20000`);
    await new Promise((r) => setTimeout(r, 200));
    await call(b.url, p.bob, 'POST', `/v1/grants/${id}/revoke`, { reason: 'done' });
    const after = await changed;
    expect(after.body.grants[0].state).toBe('revoked');
    expect(after.body.etag).not.toBe(list.body.etag);
  });

  it('long-poll with while=approved holds an active grant and answers at its revocation', async () => {
    await using b = await startTestBroker({ targets: [target()] });
    const p = await people(b);
    const id = (await call(b.url, p.alice, 'POST', '/v1/grants', { target: 'prod-db' })).body.grant.id;
    await call(b.url, p.bob, 'POST', `/v1/grants/${id}/approve`, {});
    // Without `while` an approved grant is answered at once: it is no longer pending.
    const t0 = Date.now();
    expect(
      (await call(b.url, p.alice, 'GET', `/v1/grants/${id}/wait?timeout_ms=5000`)).body.grant.state,
    ).toBe('approved');
    expect(Date.now() - t0).toBeLessThan(1000);
    const t1 = Date.now();
    const held = await call(b.url, p.alice, 'GET', `/v1/grants/${id}/wait?while=approved&timeout_ms=300`);
    expect(held.body.grant.state).toBe('approved');
    expect(Date.now() - t1).toBeGreaterThanOrEqual(290);
    const bad = await call(b.url, p.alice, 'GET', `/v1/grants/${id}/wait?while=nonsense`);
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toContain('while must be one of');

    const waiting = call(b.url, p.alice, 'GET', `/v1/grants/${id}/wait?while=approved&timeout_ms=20000`);
    await new Promise((r) => setTimeout(r, 200));
    const revokedAt = Date.now();
    await call(b.url, p.dave, 'POST', `/v1/grants/${id}/revoke`, { reason: 'rotation' });
    const done = await waiting;
    expect(Date.now() - revokedAt).toBeLessThan(1000);
    expect(done.body.grant).toMatchObject({
      state: 'revoked',
      revoked_by: 'dave@example.com',
      end_reason: 'rotation',
    });
  });

  it('the approval core is generic: a held-statement request is decided and expired the same way', async () => {
    await using b = await startTestBroker({ targets: [target()] });
    const ctx = b.broker.ctx;
    const settled: string[] = [];
    const handler: KindHandler = {
      async apply(_trx, request, state) {
        settled.push(`${request.id}:${state}`);
      },
    };
    const expired: string[] = [];
    registerApprovalKind(ctx, 'statement', {
      handler,
      async onExpired(_ctx, request) {
        expired.push(request.id);
      },
    });
    const sql = 'delete from payments.cards where id = 7';
    const r1 = await createApprovalRequest(ctx, {
      kind: 'statement',
      target: 'prod-db',
      requester: 'alice@example.com',
      requesterGroups: ['engineers'],
      reason: null,
      subject: { sql, session_id: 'se_1' },
      minApprovals: 1,
      approverGroups: ['dba-oncall'],
    });
    await expect(
      decide(ctx, {
        requestId: r1.id,
        who: { id: 'alice@example.com', groups: ['engineers', 'dba-oncall'] },
        decision: 'approve',
        comment: null,
        handler,
      }),
    ).rejects.toMatchObject({ status: 403, code: 'own_request' });
    const ok = await decide(ctx, {
      requestId: r1.id,
      who: { id: 'bob@example.com', groups: ['dba-oncall'] },
      decision: 'approve',
      comment: 'one row, fine',
      handler,
    });
    expect(ok.state).toBe('approved');
    expect(JSON.parse(ok.request.subject).sql).toBe(sql);

    const r2 = await createApprovalRequest(ctx, {
      kind: 'statement',
      target: 'prod-db',
      requester: 'alice@example.com',
      requesterGroups: ['engineers'],
      reason: null,
      subject: { sql, session_id: 'se_1' },
      minApprovals: 1,
      approverGroups: ['dba-oncall'],
      ttlMs: 200,
    });
    const end = Date.now() + 5000;
    while (expired.length === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
    expect(expired).toEqual([r2.id]);
    expect(settled).toEqual([`${r1.id}:approved`, `${r2.id}:expired`]);
  });
});
