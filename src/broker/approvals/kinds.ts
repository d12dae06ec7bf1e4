import type { BrokerContext } from '../context.js';
import type { ApprovalKind, ApprovalRequestRow } from './approval.types.js';
import type { KindHandler } from './requests.js';

/** What the broker's sweeper does for one kind of approval request besides moving it to `expired`. */
export interface ApprovalKindRegistration {
  handler: KindHandler;
  /** After the expiry is committed (by this replica only): audit, announce, notify. */
  onExpired(ctx: BrokerContext, request: ApprovalRequestRow): Promise<void>;
}

const registries = new WeakMap<BrokerContext, Map<ApprovalKind, ApprovalKindRegistration>>();

/**
 * Makes the sweeper expire undecided requests of `kind` (`approvals.request_ttl`). Grants are
 * registered by the broker itself; held statements register theirs when their engine starts.
 */
export function registerApprovalKind(
  ctx: BrokerContext,
  kind: ApprovalKind,
  reg: ApprovalKindRegistration,
): void {
  let map = registries.get(ctx);
  if (!map) {
    map = new Map();
    registries.set(ctx, map);
  }
  map.set(kind, reg);
}

export function approvalKinds(ctx: BrokerContext): ReadonlyMap<ApprovalKind, ApprovalKindRegistration> {
  return registries.get(ctx) ?? new Map();
}
