/** States of a grant (DESIGN §4): `pending → approved | denied | expired`, then `revoked | ended`. */
export const GrantState = {
  pending: 'pending',
  approved: 'approved',
  denied: 'denied',
  expired: 'expired',
  revoked: 'revoked',
  ended: 'ended',
} as const;
export type GrantState = (typeof GrantState)[keyof typeof GrantState];

export interface GrantDecisionView {
  approver: string;
  decision: 'approve' | 'deny';
  comment: string | null;
  at: string;
}

/** A grant as the HTTP API returns it; field names are stable (`--json`). */
export interface GrantView {
  id: string;
  target: string;
  identity: string;
  groups: string[];
  reason: string | null;
  state: GrantState;
  duration_ms: number;
  created_at: string;
  /** When a pending request expires undecided. */
  request_expires_at: string | null;
  starts_at: string | null;
  ends_at: string | null;
  ended_at: string | null;
  end_reason: string | null;
  approvals_required: number;
  decisions: GrantDecisionView[];
  /** Groups whose members may approve (or revoke) it. */
  approver_groups?: string[];
  /** Who revoked it, when `state` is `revoked`. */
  revoked_by?: string | null;
  /** Whether the caller may approve or deny it (pending, not theirs, an approver who has not decided yet). */
  can_decide?: boolean;
  /** Whether the caller may revoke it (approved; the holder or an approver). */
  can_revoke?: boolean;
}

/** Channel on which every change of a grant's state is announced, payload = grant id. */
export const GRANT_CHANNEL = 'gatectl_grant_changed';
