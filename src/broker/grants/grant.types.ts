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
  /** Whether the caller may approve or deny it. */
  can_decide?: boolean;
}

/** Channel on which every change of a grant's state is announced, payload = grant id. */
export const GRANT_CHANNEL = 'gatectl_grant_changed';
