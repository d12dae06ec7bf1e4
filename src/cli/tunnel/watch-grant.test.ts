import { describe, expect, it } from 'vitest';
import type { GrantView } from '../../broker/grants/grant.types.js';
import { grantEndNotice } from './watch-grant.js';

const base: GrantView = {
  id: 'gr_x',
  target: 'prod-db',
  identity: 'alice@example.com',
  groups: ['engineers'],
  reason: 'r',
  state: 'approved',
  duration_ms: 3_600_000,
  created_at: '2026-01-01T00:00:00.000Z',
  request_expires_at: null,
  starts_at: '2026-01-01T00:00:00.000Z',
  ends_at: '2026-01-01T01:00:00.000Z',
  ended_at: null,
  end_reason: null,
  approvals_required: 1,
  decisions: [],
};

describe('grantEndNotice', () => {
  it('names who revoked the grant and why, and exits 1', () => {
    expect(
      grantEndNotice({
        ...base,
        state: 'revoked',
        revoked_by: 'bob@example.com',
        end_reason: 'incident closed',
        ended_at: '2026-01-01T00:10:00.000Z',
      }),
    ).toEqual({
      code: 1,
      message: 'The grant to prod-db was revoked by bob@example.com: incident closed; tunnel closed.',
    });
    // Revoked without a reason: the broker's default reason is not repeated.
    expect(
      grantEndNotice({
        ...base,
        state: 'revoked',
        revoked_by: 'bob@example.com',
        end_reason: 'revoked by bob@example.com',
      }).message,
    ).toBe('The grant to prod-db was revoked by bob@example.com; tunnel closed.');
  });

  it('reports a grant whose time ran out as its normal end (exit 0), anything else as an error', () => {
    expect(
      grantEndNotice({
        ...base,
        state: 'ended',
        ended_at: '2026-01-01T01:00:00.400Z',
        end_reason: 'the grant’s time is over',
      }),
    ).toEqual({ code: 0, message: 'The grant to prod-db ended at 2026-01-01T01:00:00Z; tunnel closed.' });
    expect(
      grantEndNotice({
        ...base,
        state: 'ended',
        ended_at: '2026-01-01T00:20:00.000Z',
        end_reason: 'withdrawn by the requester',
      }),
    ).toEqual({ code: 1, message: 'The grant to prod-db ended: withdrawn by the requester; tunnel closed.' });
  });
});
