import { createHash } from 'node:crypto';
import type { BrokerTokenClaims } from '../../auth/broker-token.js';
import type { BrokerContext } from '../context.js';
import { GrantState, type GrantView } from './grant.types.js';
import { type GrantRow, grantView, mayView } from './service.js';

/**
 * `mine`: grants I requested or hold. `approvable`: pending requests I may decide now.
 * `all`: everything I may see — mine, plus every grant of the targets whose approver groups I am in
 * (what an approver needs for review and revocation).
 */
export const GrantScope = { mine: 'mine', approvable: 'approvable', all: 'all' } as const;
export type GrantScope = (typeof GrantScope)[keyof typeof GrantScope];

export interface GrantQuery {
  scope: GrantScope;
  /** Only these states; every state when empty. */
  states: GrantState[];
  limit?: number;
}

export function parseStates(text: string | undefined): GrantState[] | string {
  if (!text) return [];
  const states = text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const known = Object.values(GrantState) as string[];
  const bad = states.find((s) => !known.includes(s));
  if (bad) return `unknown state "${bad}" (expected ${known.join(', ')})`;
  return states as GrantState[];
}

export async function listGrants(
  ctx: BrokerContext,
  me: BrokerTokenClaims,
  q: GrantQuery,
): Promise<GrantView[]> {
  let query = ctx.store.db
    .selectFrom('grants')
    .leftJoin('approval_requests', 'approval_requests.id', 'grants.request_id')
    .selectAll('grants')
    .select('approval_requests.approver_groups as request_approvers');
  if (q.scope === 'mine') query = query.where('grants.identity', '=', me.id);
  if (q.scope === 'approvable') query = query.where('grants.state', '=', 'pending');
  else if (q.states.length > 0) query = query.where('grants.state', 'in', q.states);
  const rows = await query
    .orderBy('grants.created_at', 'desc')
    .orderBy('grants.id')
    .limit(q.limit ?? 500)
    .execute();
  const views: GrantView[] = [];
  for (const r of rows) {
    const { request_approvers, ...grant } = r;
    const row = grant as GrantRow;
    const approvers: string[] = request_approvers ? JSON.parse(request_approvers) : [];
    if (!mayView(ctx, row, me, approvers)) continue;
    const view = await grantView(ctx, row, me);
    if (q.scope === 'approvable' && !view.can_decide) continue;
    views.push(view);
  }
  return views;
}

/** A digest of a list, so a client can long-poll for "anything different from what I have". */
export function listEtag(grants: readonly GrantView[]): string {
  return createHash('sha256').update(JSON.stringify(grants)).digest('base64url').slice(0, 22);
}
