import type { ApprovalDecisionsTable, ApprovalRequestsTable } from '../../store/schema.types.js';

/** What an approval request is about: a grant now, a held statement inside a session later (DESIGN §4). */
export const ApprovalKind = { grant: 'grant', statement: 'statement' } as const;
export type ApprovalKind = (typeof ApprovalKind)[keyof typeof ApprovalKind];

export const ApprovalState = {
  pending: 'pending',
  approved: 'approved',
  denied: 'denied',
  expired: 'expired',
  withdrawn: 'withdrawn',
} as const;
export type ApprovalState = (typeof ApprovalState)[keyof typeof ApprovalState];

export type Decision = 'approve' | 'deny';

export type ApprovalRequestRow = ApprovalRequestsTable;
export type ApprovalDecisionRow = Omit<ApprovalDecisionsTable, 'id'> & { id: number };

/** Who is deciding: the identity and groups of a verified broker token. */
export interface Decider {
  id: string;
  groups: readonly string[];
}
