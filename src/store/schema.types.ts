import type { Generated } from 'kysely';

/**
 * The broker's tables, designed together (DESIGN §2, §4, §6). Times are epoch milliseconds,
 * JSON columns hold text, ids are text. Both dialects share this shape.
 */
export interface Database {
  identities: IdentitiesTable;
  signing_keys: SigningKeysTable;
  revoked_tokens: RevokedTokensTable;
  approval_requests: ApprovalRequestsTable;
  approval_decisions: ApprovalDecisionsTable;
  grants: GrantsTable;
  tunnels: TunnelsTable;
  sessions: SessionsTable;
  session_events: SessionEventsTable;
  session_event_chunks: SessionEventChunksTable;
  audit_events: AuditEventsTable;
  audit_checkpoints: AuditCheckpointsTable;
}

export interface IdentitiesTable {
  /** `alice@example.com`, `ci:acme/payments`. */
  id: string;
  kind: 'human' | 'machine';
  display_name: string | null;
  /** JSON array of the groups seen at the last login. */
  groups: string;
  issuer: string;
  first_seen_at: number;
  last_seen_at: number;
}

export interface SigningKeysTable {
  /** JWK thumbprint. */
  id: string;
  /** `session` signs broker tokens; `audit` signs checkpoints. */
  purpose: 'session' | 'audit';
  private_pem: string;
  public_jwk: string;
  created_at: number;
  retired_at: number | null;
}

export interface RevokedTokensTable {
  jti: string;
  identity: string;
  /** After this the token is expired anyway and the row can be pruned. */
  expires_at: number;
  revoked_at: number;
}

/**
 * Something a human must decide: a grant request now, a held statement later. Generic on purpose
 * (DESIGN §4): `kind` says what, `subject` carries the details as JSON.
 */
export interface ApprovalRequestsTable {
  id: string;
  kind: 'grant' | 'statement';
  target: string;
  requester: string;
  /** JSON array. */
  requester_groups: string;
  reason: string | null;
  /** JSON: `{ duration_ms }` for a grant, `{ sql, session_id }` for a statement. */
  subject: string;
  state: 'pending' | 'approved' | 'denied' | 'expired' | 'withdrawn';
  min_approvals: number;
  /** JSON array of groups whose members may decide. */
  approver_groups: string;
  created_at: number;
  expires_at: number;
  decided_at: number | null;
}

export interface ApprovalDecisionsTable {
  id: Generated<number>;
  request_id: string;
  approver: string;
  decision: 'approve' | 'deny';
  comment: string | null;
  created_at: number;
}

export interface GrantsTable {
  id: string;
  /** The approval request this grant came from (null when granted automatically). */
  request_id: string | null;
  identity: string;
  target: string;
  reason: string | null;
  duration_ms: number;
  state: 'pending' | 'approved' | 'denied' | 'expired' | 'revoked' | 'ended';
  created_at: number;
  starts_at: number | null;
  ends_at: number | null;
  ended_at: number | null;
  end_reason: string | null;
  revoked_by: string | null;
}

export interface TunnelsTable {
  id: string;
  grant_id: string;
  identity: string;
  target: string;
  /** SCRAM-SHA-256 verifier of the one-time local secret; the secret itself is never stored. */
  secret_verifier: string;
  created_at: number;
  expires_at: number;
  closed_at: number | null;
}

export interface SessionsTable {
  id: string;
  tunnel_id: string | null;
  grant_id: string | null;
  identity: string;
  target: string;
  protocol: 'postgres' | 'ssh';
  client_addr: string | null;
  client_tool: string | null;
  started_at: number;
  ended_at: number | null;
  bytes_in: number;
  bytes_out: number;
  end_reason: string | null;
  /** SHA-256 of the recording, entered into the audit chain when the session ends. */
  recording_digest: string | null;
}

/**
 * Statement events of one session, several per row (see session-event-chunks.ts). Since
 * migration 0002 new events are written here; `session_events` keeps rows written before.
 */
export interface SessionEventChunksTable {
  session_id: string;
  first_seq: number;
  last_seq: number;
  count: number;
  /** Line format of `events` (1: one JSON array per event). */
  format: number;
  events: string;
}

export interface SessionEventsTable {
  id: Generated<number>;
  session_id: string;
  seq: number;
  at: number;
  /** `statement`, `result`, `error`, `notice`, `decision`, … */
  kind: string;
  statement: string | null;
  param_count: number | null;
  command_tag: string | null;
  rows: number | null;
  duration_ms: number | null;
  error: string | null;
  /** JSON for anything else (masked parameters, decision details). */
  data: string | null;
}

export interface AuditEventsTable {
  /** Position in the chain, from 1. */
  seq: number;
  id: string;
  at: number;
  /** `auth.login`, `auth.failure`, `grant.requested`, `session.start`, … */
  type: string;
  actor: string | null;
  outcome: 'success' | 'failure';
  origin: string | null;
  resource: string | null;
  /** JSON with the details of the event. */
  data: string;
  prev_hash: string;
  hash: string;
}

export interface AuditCheckpointsTable {
  /** The last audit event covered. */
  seq: number;
  at: number;
  hash: string;
  key_id: string;
  signature: string;
}
