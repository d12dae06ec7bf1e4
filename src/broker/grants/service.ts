import type { BrokerTokenClaims } from '../../auth/broker-token.js';
import { newId } from '../../lib/ids.js';
import type { GrantsTable } from '../../store/schema.types.js';
import { createApprovalRequest } from '../approvals/requests.js';
import type { TargetConfig } from '../config/schema.js';
import type { BrokerContext } from '../context.js';
import { HttpError } from '../http-error.js';
import { notifyGrant } from '../notify.js';
import { GRANT_CHANNEL, type GrantView } from './grant.types.js';

export type GrantRow = GrantsTable;

export function findTarget(ctx: BrokerContext, name: string): TargetConfig {
  const t = ctx.config.targets.find((x) => x.name === name);
  if (!t) throw new HttpError(404, 'unknown_target', `no target named "${name}"`);
  return t;
}

/** Whether the identity may request this target at all. */
export function mayRequest(target: TargetConfig, groups: readonly string[]): boolean {
  return target.access.groups.some((g) => groups.includes(g));
}

/** Whether a request by these groups is granted without a human. */
export function isAutomatic(target: TargetConfig, groups: readonly string[]): boolean {
  return !target.access.approval || target.access.auto_approve.some((g) => groups.includes(g));
}

/** The caller's grant to `target` that is approved and not yet over, if any. */
export async function getActiveGrant(
  ctx: BrokerContext,
  identity: string,
  target: string,
): Promise<GrantRow | undefined> {
  const now = ctx.now();
  return ctx.store.db
    .selectFrom('grants')
    .selectAll()
    .where('identity', '=', identity)
    .where('target', '=', target)
    .where('state', '=', 'approved')
    .where('starts_at', '<=', now)
    .where('ends_at', '>', now)
    .orderBy('ends_at', 'desc')
    .executeTakeFirst();
}

export async function getGrant(ctx: BrokerContext, id: string): Promise<GrantRow> {
  const row = await ctx.store.db.selectFrom('grants').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) throw new HttpError(404, 'unknown_grant', `no grant with id ${id}`);
  return row;
}

export interface GrantRequest {
  target: string;
  reason?: string | null;
  durationMs?: number | null;
}

/**
 * Creates a grant: approved at once when the target's policy says so for the caller's groups,
 * otherwise pending with an approval request that approvers decide.
 */
export async function requestGrant(
  ctx: BrokerContext,
  me: BrokerTokenClaims,
  req: GrantRequest,
  origin?: string,
): Promise<GrantRow> {
  const target = findTarget(ctx, req.target);
  if (!mayRequest(target, me.groups)) {
    await ctx.audit({
      type: 'grant.refused',
      actor: me.id,
      outcome: 'failure',
      origin: origin ?? null,
      resource: target.name,
      data: { reason: 'not_in_access_groups', groups: me.groups },
    });
    throw new HttpError(
      403,
      'not_allowed',
      `your groups (${me.groups.join(', ') || 'none'}) may not request ${target.name}`,
    );
  }
  const max = target.access.max_duration;
  const duration = Math.min(req.durationMs ?? target.access.default_duration, max);
  if (!(duration > 0)) throw new HttpError(400, 'bad_duration', 'duration must be positive');
  const now = ctx.now();
  const id = newId('gr');
  const automatic = isAutomatic(target, me.groups);
  let requestId: string | null = null;
  if (!automatic) {
    const approval = target.access.approval!;
    const request = await createApprovalRequest(ctx, {
      kind: 'grant',
      target: target.name,
      requester: me.id,
      requesterGroups: me.groups,
      reason: req.reason ?? null,
      subject: { grant_id: id, duration_ms: duration },
      minApprovals: approval.min_approvals,
      approverGroups: approval.approvers,
    });
    requestId = request.id;
  }
  const row: GrantRow = {
    id,
    request_id: requestId,
    identity: me.id,
    target: target.name,
    reason: req.reason ?? null,
    duration_ms: duration,
    state: automatic ? 'approved' : 'pending',
    created_at: now,
    starts_at: automatic ? now : null,
    ends_at: automatic ? now + duration : null,
    ended_at: null,
    end_reason: null,
    revoked_by: null,
  };
  await ctx.store.db.insertInto('grants').values(row).execute();
  await ctx.audit({
    type: automatic ? 'grant.auto_approved' : 'grant.requested',
    actor: me.id,
    origin: origin ?? null,
    resource: target.name,
    data: { grant_id: id, reason: req.reason ?? null, duration_ms: duration, groups: me.groups },
  });
  await announce(ctx, id);
  notifyGrant(ctx, automatic ? 'grant.auto_approved' : 'grant.requested', await grantView(ctx, row), me.id);
  return row;
}

/** Tells every broker replica (and waiting clients) that a grant changed. */
export async function announce(ctx: BrokerContext, grantId: string): Promise<void> {
  await ctx.store.notify(GRANT_CHANNEL, grantId);
}

/** Calls `handler(grantId)` whenever any grant changes state, on this replica or another. */
export function onGrantChange(
  ctx: BrokerContext,
  handler: (grantId: string) => void,
): Promise<() => Promise<void>> {
  return ctx.store.listen(GRANT_CHANNEL, handler);
}

export async function grantView(
  ctx: BrokerContext,
  row: GrantRow,
  viewer?: BrokerTokenClaims,
): Promise<GrantView> {
  const iso = (v: number | null) => (v === null ? null : new Date(v).toISOString());
  let request:
    | { requester_groups: string; expires_at: number; min_approvals: number; approver_groups: string }
    | undefined;
  let decisions: GrantView['decisions'] = [];
  if (row.request_id) {
    request = await ctx.store.db
      .selectFrom('approval_requests')
      .select(['requester_groups', 'expires_at', 'min_approvals', 'approver_groups'])
      .where('id', '=', row.request_id)
      .executeTakeFirst();
    const ds = await ctx.store.db
      .selectFrom('approval_decisions')
      .selectAll()
      .where('request_id', '=', row.request_id)
      .orderBy('created_at')
      .execute();
    decisions = ds.map((d) => ({
      approver: d.approver,
      decision: d.decision,
      comment: d.comment,
      at: new Date(d.created_at).toISOString(),
    }));
  }
  const approverGroups: string[] = request ? JSON.parse(request.approver_groups) : [];
  const view: GrantView = {
    id: row.id,
    target: row.target,
    identity: row.identity,
    groups: request ? JSON.parse(request.requester_groups) : [],
    reason: row.reason,
    state: row.state,
    duration_ms: row.duration_ms,
    created_at: new Date(row.created_at).toISOString(),
    request_expires_at: request ? iso(request.expires_at) : null,
    starts_at: iso(row.starts_at),
    ends_at: iso(row.ends_at),
    ended_at: iso(row.ended_at),
    end_reason: row.end_reason,
    approvals_required: request?.min_approvals ?? 0,
    decisions,
  };
  view.approver_groups = request ? approverGroups : targetApprovers(ctx, row.target);
  view.revoked_by = row.revoked_by;
  if (viewer) {
    view.can_decide =
      row.state === 'pending' &&
      viewer.id !== row.identity &&
      approverGroups.some((g) => viewer.groups.includes(g)) &&
      !decisions.some((d) => d.approver === viewer.id);
    view.can_revoke = row.state === 'approved' && mayRevoke(ctx, row, viewer, approverGroups);
  }
  return view;
}

/** The approver groups the target's policy names today (empty when grants are automatic). */
export function targetApprovers(ctx: BrokerContext, targetName: string): string[] {
  return ctx.config.targets.find((t) => t.name === targetName)?.access.approval?.approvers ?? [];
}

/**
 * Who may see a grant: its holder, and members of the approver groups of its request or of its
 * target. Everyone else gets a 404, as if it did not exist.
 */
export function mayView(
  ctx: BrokerContext,
  row: GrantRow,
  viewer: Pick<BrokerTokenClaims, 'id' | 'groups'>,
  requestApprovers: readonly string[] = [],
): boolean {
  if (row.identity === viewer.id) return true;
  const groups = [...requestApprovers, ...targetApprovers(ctx, row.target)];
  return groups.some((g) => viewer.groups.includes(g));
}

/** The holder may give a grant up; approvers (of the request or the target) may take it away. */
export function mayRevoke(
  ctx: BrokerContext,
  row: GrantRow,
  viewer: Pick<BrokerTokenClaims, 'id' | 'groups'>,
  requestApprovers: readonly string[] = [],
): boolean {
  return mayView(ctx, row, viewer, requestApprovers);
}
