import { describe, expect, it } from 'vitest';
import type { GrantView } from '../../broker/grants/grant.types.js';
import { ExitCode } from '../errors.js';
import { grantOutcomeError } from './wait.js';

const base: GrantView = {
  id: 'gr_x',
  target: 'prod-db',
  identity: 'alice@example.com',
  groups: ['engineers'],
  reason: 'r',
  state: 'pending',
  duration_ms: 3_600_000,
  created_at: '2026-01-01T00:00:00.000Z',
  request_expires_at: null,
  starts_at: null,
  ends_at: null,
  ended_at: null,
  end_reason: null,
  approvals_required: 1,
  decisions: [],
};

describe('grantOutcomeError', () => {
  it('maps states to exit codes and names the approver and reason of a denial', () => {
    expect(grantOutcomeError({ ...base, state: 'approved' })).toBeNull();
    const denied = grantOutcomeError({
      ...base,
      state: 'denied',
      decisions: [
        { approver: 'bob@example.com', decision: 'deny', comment: 'not today', at: base.created_at },
      ],
    });
    expect(denied?.exitCode).toBe(ExitCode.denied);
    expect(denied?.message).toBe('bob@example.com denied your request for prod-db: not today');
    expect(grantOutcomeError({ ...base, state: 'expired' })?.exitCode).toBe(ExitCode.pending);
    expect(grantOutcomeError(base)?.exitCode).toBe(ExitCode.pending);
    expect(grantOutcomeError({ ...base, state: 'revoked', revoked_by: 'bob' })?.exitCode).toBe(
      ExitCode.denied,
    );
    expect(grantOutcomeError({ ...base, state: 'ended' })?.exitCode).toBe(ExitCode.error);
  });
});
