import type { GrantView } from '../../broker/grants/grant.types.js';
import { formatDuration } from '../../lib/duration.js';
import type { BrokerClient } from '../broker-client.js';
import { approvalProgress } from '../grants/format.js';
import { grantOutcomeError, waitForGrant, withdrawRequest } from '../grants/wait.js';

export interface EnsureGrantOptions {
  reason?: string;
  durationMs?: number;
  /** Longest wait for an approval; undefined waits until the request itself expires. */
  waitMs?: number;
  signal: AbortSignal;
  /** Progress for the person waiting (stderr). */
  onStatus?(message: string): void;
  /** Withdraws a request left pending by Ctrl-C (a client whose signal is not aborted). */
  withdrawWith?: BrokerClient;
}

/**
 * The caller's active grant to `target`: the one already held, or a new one (approved at once
 * when policy allows, otherwise after waiting for approvers), so one command goes from nothing
 * to connected. Denied → exit 5; still pending when the wait runs out → exit 6.
 */
export async function ensureGrant(
  client: BrokerClient,
  target: string,
  options: EnsureGrantOptions,
): Promise<GrantView> {
  const active = await client.request<{ grant: GrantView | null }>(
    'GET',
    `/v1/grants/active?target=${encodeURIComponent(target)}`,
  );
  if (active.grant) return active.grant;
  const created = await client.request<{ grant: GrantView }>('POST', '/v1/grants', {
    target,
    reason: options.reason ?? null,
    duration_ms: options.durationMs ?? null,
  });
  let grant = created.grant;
  if (grant.state === 'pending') {
    const id = grant.id;
    const expires = grant.request_expires_at ? Date.parse(grant.request_expires_at) : null;
    const left = expires
      ? `; the request expires in ${formatDuration(Math.max(0, expires - Date.now()))}`
      : '';
    options.onStatus?.(
      `Requested access to ${target} (${id}); waiting for ${approvalProgress(grant)}${left}. An approver runs \`gatectl approve ${id}\`.`,
    );
    try {
      grant = await waitForGrant(client, id, { timeoutMs: options.waitMs, signal: options.signal });
    } catch (err) {
      if (options.signal.aborted && options.withdrawWith)
        options.onStatus?.(await withdrawRequest(options.withdrawWith, id, 2000));
      throw err;
    }
    const by = grant.decisions.filter((d) => d.decision === 'approve').map((d) => d.approver);
    if (grant.state === 'approved' && by.length > 0) options.onStatus?.(`Approved by ${by.join(', ')}.`);
  }
  const error = grantOutcomeError(grant);
  if (error) throw error;
  return grant;
}
