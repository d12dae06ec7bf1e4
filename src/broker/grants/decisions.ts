import type { BrokerTokenClaims } from '../../auth/broker-token.js';
import type { Decision } from '../approvals/approval.types.js';
import type { KindHandler } from '../approvals/requests.js';
import { approverGroups, decide, getApprovalRequest, settle } from '../approvals/requests.js';
import type { BrokerContext } from '../context.js';
import { HttpError } from '../http-error.js';
import { notifyGrant } from '../notify.js';
import { announce, type GrantRow, getGrant, grantView, mayRevoke, mayView } from './service.js';

/** How a settled approval request changes its grant; runs inside the settling transaction. */
export const grantKindHandler: KindHandler = {
  async apply(trx, request, state, now, note) {
    const grants = trx
      .updateTable('grants')
      .where('request_id', '=', request.id)
      .where('state', '=', 'pending');
    switch (state) {
      case 'approved': {
        const { duration_ms } = JSON.parse(request.subject) as { duration_ms: number };
        await grants.set({ state: 'approved', starts_at: now, ends_at: now + duration_ms }).execute();
        return;
      }
      case 'denied':
        await grants.set({ state: 'denied', ended_at: now, end_reason: note }).execute();
        return;
      case 'expired':
        await grants
          .set({ state: 'expired', ended_at: now, end_reason: note ?? 'expired without a decision' })
          .execute();
        return;
      case 'withdrawn':
        await grants
          .set({ state: 'ended', ended_at: now, end_reason: 'withdrawn by the requester' })
          .execute();
        return;
      case 'pending':
        return;
    }
  },
};

/** Loads a grant the caller may see; a 404 otherwise, so ids of other people's grants do not leak. */
export async function visibleGrant(ctx: BrokerContext, id: string, me: BrokerTokenClaims): Promise<GrantRow> {
  const row = await getGrant(ctx, id);
  const approvers = row.request_id ? approverGroups(await getApprovalRequest(ctx, row.request_id)) : [];
  if (!mayView(ctx, row, me, approvers)) throw new HttpError(404, 'unknown_grant', `no grant with id ${id}`);
  return row;
}

/**
 * Approves or denies a pending grant request. With `min_approvals` above one, an approval is
 * recorded and the grant stays pending until enough approvers agree; a single denial settles it.
 */
export async function decideGrant(
  ctx: BrokerContext,
  me: BrokerTokenClaims,
  id: string,
  decision: Decision,
  comment: string | null,
  origin?: string,
): Promise<GrantRow> {
  const row = await getGrant(ctx, id);
  if (!row.request_id) {
    if (!mayView(ctx, row, me)) throw new HttpError(404, 'unknown_grant', `no grant with id ${id}`);
    throw new HttpError(
      409,
      'not_pending',
      `grant ${id} was granted automatically; there is nothing to decide`,
    );
  }
  let result: Awaited<ReturnType<typeof decide>>;
  try {
    result = await decide(ctx, {
      requestId: row.request_id,
      who: me,
      decision,
      comment,
      handler: grantKindHandler,
      noun: 'grant request',
    });
  } catch (err) {
    if (err instanceof HttpError && err.status === 403) {
      await ctx.audit({
        type: 'grant.decision_refused',
        actor: me.id,
        outcome: 'failure',
        origin: origin ?? null,
        resource: row.target,
        data: { grant_id: id, decision, reason: err.code, groups: me.groups },
      });
    }
    throw err;
  }
  const type =
    result.state === 'approved'
      ? 'grant.approved'
      : result.state === 'denied'
        ? 'grant.denied'
        : 'grant.approval_recorded';
  const updated = await getGrant(ctx, id);
  await ctx.audit({
    type,
    actor: me.id,
    origin: origin ?? null,
    resource: row.target,
    data: {
      grant_id: id,
      request_id: row.request_id,
      requester: row.identity,
      decision,
      comment: comment?.trim() || null,
      approvals: result.approvals,
      approvals_required: result.request.min_approvals,
      ends_at: updated.ends_at,
    },
  });
  await announce(ctx, id);
  notifyGrant(ctx, type, await grantView(ctx, updated), me.id, comment?.trim() || null);
  return updated;
}

/** Ends an approved grant early: by an approver, or by its holder giving it up. */
export async function revokeGrant(
  ctx: BrokerContext,
  me: BrokerTokenClaims,
  id: string,
  reason: string | null,
  origin?: string,
): Promise<GrantRow> {
  const row = await getGrant(ctx, id);
  const approvers = row.request_id ? approverGroups(await getApprovalRequest(ctx, row.request_id)) : [];
  if (!mayRevoke(ctx, row, me, approvers)) {
    await ctx.audit({
      type: 'grant.revoke_refused',
      actor: me.id,
      outcome: 'failure',
      origin: origin ?? null,
      resource: row.target,
      data: { grant_id: id, groups: me.groups },
    });
    // Same answer as for a grant that does not exist: ids of other people's grants do not leak.
    throw new HttpError(404, 'unknown_grant', `no grant with id ${id}`);
  }
  if (row.state === 'pending')
    throw new HttpError(
      409,
      'not_active',
      `grant ${id} is still pending: deny it instead (\`gatectl deny ${id}\`)`,
    );
  if (row.state !== 'approved') throw new HttpError(409, 'not_active', `grant ${id} is already ${row.state}`);
  const now = ctx.now();
  const note = reason?.trim() || null;
  const res = await ctx.store.db
    .updateTable('grants')
    .set({ state: 'revoked', ended_at: now, end_reason: note ?? `revoked by ${me.id}`, revoked_by: me.id })
    .where('id', '=', id)
    .where('state', '=', 'approved')
    .executeTakeFirst();
  const updated = await getGrant(ctx, id);
  if (Number(res.numUpdatedRows) !== 1)
    throw new HttpError(409, 'not_active', `grant ${id} is already ${updated.state}`);
  await ctx.audit({
    type: 'grant.revoked',
    actor: me.id,
    origin: origin ?? null,
    resource: row.target,
    data: { grant_id: id, holder: row.identity, reason: note, by_holder: me.id === row.identity },
  });
  await announce(ctx, id);
  notifyGrant(ctx, 'grant.revoked', await grantView(ctx, updated), me.id, note);
  return updated;
}

/**
 * The requester no longer wants it (Ctrl-C while waiting): a pending request is withdrawn, and a
 * grant approved in the meantime is ended. Anything already over is returned as it is.
 */
export async function withdrawGrant(
  ctx: BrokerContext,
  me: BrokerTokenClaims,
  id: string,
  origin?: string,
): Promise<GrantRow> {
  const row = await visibleGrant(ctx, id, me);
  if (row.identity !== me.id)
    throw new HttpError(403, 'not_requester', 'only the requester may withdraw a request; approvers deny it');
  let changed = false;
  if (row.state === 'pending' && row.request_id) {
    changed = await settle(ctx, row.request_id, 'withdrawn', grantKindHandler);
  }
  const now = ctx.now();
  const current = await getGrant(ctx, id);
  if (current.state === 'approved') {
    const res = await ctx.store.db
      .updateTable('grants')
      .set({ state: 'ended', ended_at: now, end_reason: 'withdrawn by the requester' })
      .where('id', '=', id)
      .where('state', '=', 'approved')
      .executeTakeFirst();
    changed = changed || Number(res.numUpdatedRows) === 1;
  }
  if (!changed) return current;
  await ctx.audit({
    type: 'grant.withdrawn',
    actor: me.id,
    origin: origin ?? null,
    resource: row.target,
    data: { grant_id: id, previous_state: row.state },
  });
  await announce(ctx, id);
  return getGrant(ctx, id);
}
