import type { Transaction } from 'kysely';
import { newId } from '../../lib/ids.js';
import type { Database } from '../../store/schema.types.js';
import type { BrokerContext } from '../context.js';
import { HttpError } from '../http-error.js';
import type {
  ApprovalDecisionRow,
  ApprovalKind,
  ApprovalRequestRow,
  ApprovalState,
  Decider,
  Decision,
} from './approval.types.js';

/**
 * Generic approval requests (DESIGN §4): something a member of the approver groups must decide,
 * `min_approvals` approvals settle it, one denial settles it, nobody decides their own request,
 * and undecided requests expire. What the request is about lives in `subject` (JSON); each kind
 * applies the outcome to its own rows through a {@link KindHandler}, inside the same transaction.
 */

export interface NewApprovalRequest {
  id?: string;
  kind: ApprovalKind;
  target: string;
  requester: string;
  requesterGroups: readonly string[];
  reason: string | null;
  subject: Record<string, unknown>;
  minApprovals: number;
  approverGroups: readonly string[];
  /** How long it may stay undecided; defaults to `approvals.request_ttl`. */
  ttlMs?: number;
}

export async function createApprovalRequest(
  ctx: BrokerContext,
  req: NewApprovalRequest,
  db: Transaction<Database> | BrokerContext['store']['db'] = ctx.store.db,
): Promise<ApprovalRequestRow> {
  const now = ctx.now();
  const row: ApprovalRequestRow = {
    id: req.id ?? newId('ar'),
    kind: req.kind,
    target: req.target,
    requester: req.requester,
    requester_groups: JSON.stringify(req.requesterGroups),
    reason: req.reason,
    subject: JSON.stringify(req.subject),
    state: 'pending',
    min_approvals: req.minApprovals,
    approver_groups: JSON.stringify(req.approverGroups),
    created_at: now,
    expires_at: now + (req.ttlMs ?? ctx.config.approvals.request_ttl),
    decided_at: null,
  };
  await db.insertInto('approval_requests').values(row).execute();
  return row;
}

export async function getApprovalRequest(
  ctx: BrokerContext,
  id: string,
  db: Transaction<Database> | BrokerContext['store']['db'] = ctx.store.db,
): Promise<ApprovalRequestRow> {
  const row = await db.selectFrom('approval_requests').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) throw new HttpError(404, 'unknown_request', `no approval request with id ${id}`);
  return row;
}

export async function listDecisions(
  ctx: BrokerContext,
  requestId: string,
  db: Transaction<Database> | BrokerContext['store']['db'] = ctx.store.db,
): Promise<ApprovalDecisionRow[]> {
  return db
    .selectFrom('approval_decisions')
    .selectAll()
    .where('request_id', '=', requestId)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
}

export function approverGroups(request: Pick<ApprovalRequestRow, 'approver_groups'>): string[] {
  return JSON.parse(request.approver_groups) as string[];
}

export function isApprover(request: Pick<ApprovalRequestRow, 'approver_groups'>, who: Decider): boolean {
  return approverGroups(request).some((g) => who.groups.includes(g));
}

/** Throws the 403 a caller gets when they may not decide `request`; the message says why. */
export function assertMayDecide(request: ApprovalRequestRow, who: Decider, noun = 'request'): void {
  if (request.requester === who.id) {
    throw new HttpError(
      403,
      'own_request',
      `you cannot decide your own ${noun}: another member of ${approverGroups(request).join(', ')} must`,
    );
  }
  if (!isApprover(request, who)) {
    throw new HttpError(
      403,
      'not_an_approver',
      `only members of ${approverGroups(request).join(', ')} may decide ${noun}s for ${request.target}; ` +
        `your groups: ${who.groups.join(', ') || 'none'}`,
    );
  }
}

/** Applies a settled outcome to the kind's own rows, in the transaction that settles the request. */
export interface KindHandler {
  apply(
    trx: Transaction<Database>,
    request: ApprovalRequestRow,
    state: ApprovalState,
    now: number,
    note: string | null,
  ): Promise<void>;
}

export interface DecideInput {
  requestId: string;
  who: Decider;
  decision: Decision;
  comment: string | null;
  handler: KindHandler;
  noun?: string;
}

export interface DecideResult {
  request: ApprovalRequestRow;
  /** The request's state after this decision (`pending` while more approvals are needed). */
  state: ApprovalState;
  approvals: number;
}

/**
 * Records one decision. The request row is locked across replicas, so two approvers deciding at
 * once are counted one after the other and exactly one of them settles the request.
 */
export async function decide(ctx: BrokerContext, input: DecideInput): Promise<DecideResult> {
  if (input.decision === 'deny' && !input.comment?.trim())
    throw new HttpError(400, 'reason_required', 'a denial needs a reason; it is shown to the requester');
  return ctx.store.withLock(`approval:${input.requestId}`, async (trx) => {
    const request = await getApprovalRequest(ctx, input.requestId, trx);
    const now = ctx.now();
    assertMayDecide(request, input.who, input.noun);
    if (request.state !== 'pending')
      throw new HttpError(409, 'not_pending', `this ${input.noun ?? 'request'} is already ${request.state}`);
    if (request.expires_at <= now)
      throw new HttpError(409, 'not_pending', `this ${input.noun ?? 'request'} expired undecided`);
    const earlier = await listDecisions(ctx, request.id, trx);
    if (earlier.some((d) => d.approver === input.who.id))
      throw new HttpError(409, 'already_decided', `you already decided this ${input.noun ?? 'request'}`);
    await trx
      .insertInto('approval_decisions')
      .values({
        request_id: request.id,
        approver: input.who.id,
        decision: input.decision,
        comment: input.comment?.trim() || null,
        created_at: now,
      })
      .execute();
    const approvals =
      earlier.filter((d) => d.decision === 'approve').length + (input.decision === 'approve' ? 1 : 0);
    let state: ApprovalState = 'pending';
    if (input.decision === 'deny') state = 'denied';
    else if (approvals >= request.min_approvals) state = 'approved';
    if (state !== 'pending') {
      await trx
        .updateTable('approval_requests')
        .set({ state, decided_at: now })
        .where('id', '=', request.id)
        .execute();
      await input.handler.apply(trx, request, state, now, input.comment?.trim() || null);
    }
    return { request: { ...request, state, decided_at: state === 'pending' ? null : now }, state, approvals };
  });
}

/**
 * Moves a pending request to `withdrawn` (the requester gave up) and applies it. Returns false
 * when it was no longer pending.
 */
export async function settle(
  ctx: BrokerContext,
  requestId: string,
  state: Exclude<ApprovalState, 'pending'>,
  handler: KindHandler,
  note: string | null = null,
): Promise<boolean> {
  return ctx.store.withLock(`approval:${requestId}`, async (trx) => {
    const now = ctx.now();
    // The state condition makes this safe with several replicas: exactly one of them moves it.
    const res = await trx
      .updateTable('approval_requests')
      .set({ state, decided_at: now })
      .where('id', '=', requestId)
      .where('state', '=', 'pending')
      .executeTakeFirst();
    if (Number(res.numUpdatedRows) !== 1) return false;
    const request = await getApprovalRequest(ctx, requestId, trx);
    await handler.apply(trx, request, state, now, note);
    return true;
  });
}

/**
 * Expires the pending requests of `kinds` whose time is up. Safe to run on every replica at
 * once; returns only the requests this call expired.
 */
export async function expireDue(
  ctx: BrokerContext,
  handlers: Partial<Record<ApprovalKind, KindHandler>>,
  limit = 100,
): Promise<ApprovalRequestRow[]> {
  const kinds = Object.keys(handlers) as ApprovalKind[];
  if (kinds.length === 0) return [];
  const due = await ctx.store.db
    .selectFrom('approval_requests')
    .selectAll()
    .where('state', '=', 'pending')
    .where('expires_at', '<=', ctx.now())
    .where('kind', 'in', kinds)
    .orderBy('expires_at')
    .limit(limit)
    .execute();
  const won: ApprovalRequestRow[] = [];
  for (const r of due) {
    if (await settle(ctx, r.id, 'expired', handlers[r.kind]!, 'expired without a decision'))
      won.push({ ...r, state: 'expired' });
  }
  return won;
}
