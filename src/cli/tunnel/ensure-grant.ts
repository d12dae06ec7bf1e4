import type { GrantView } from '../../broker/grants/grant.types.js';
import type { BrokerClient } from '../broker-client.js';
import { DeniedError, PendingError } from '../errors.js';

export interface EnsureGrantOptions {
  reason?: string;
  durationMs?: number;
  /** Longest wait for an approval; undefined waits until the request itself expires. */
  waitMs?: number;
  signal: AbortSignal;
  /** Progress for the person waiting (stderr). */
  onStatus?(message: string): void;
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
    options.onStatus?.(
      `Requested access to ${target} (${grant.id}); waiting for ${grant.approvals_required} approval(s)…`,
    );
    grant = await waitWhilePending(client, grant.id, options);
  }
  switch (grant.state) {
    case 'approved':
      return grant;
    case 'pending':
      throw new PendingError(`the request for ${target} (${grant.id}) is still waiting for approval`, {
        hint: `Ask an approver to run \`gatectl approve ${grant.id}\`, then run this command again.`,
      });
    case 'denied':
      throw new DeniedError(
        `the request for ${target} was denied${grant.decisions.find((d) => d.decision === 'deny')?.comment ? `: ${grant.decisions.find((d) => d.decision === 'deny')!.comment}` : ''}`,
      );
    default:
      throw new DeniedError(
        `the grant for ${target} is ${grant.state}${grant.end_reason ? `: ${grant.end_reason}` : ''}`,
      );
  }
}

/**
 * Waits until a grant is no longer pending or `waitMs` runs out, by polling `GET /v1/grants/:id`.
 * Isolated so it can become a long-poll on the broker without touching the callers.
 */
async function waitWhilePending(
  client: BrokerClient,
  id: string,
  options: Pick<EnsureGrantOptions, 'waitMs' | 'signal'>,
): Promise<GrantView> {
  const deadline = options.waitMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + options.waitMs;
  for (;;) {
    const { grant } = await client.request<{ grant: GrantView }>(
      'GET',
      `/v1/grants/${encodeURIComponent(id)}`,
    );
    if (grant.state !== 'pending' || Date.now() >= deadline) return grant;
    await sleep(Math.min(1000, Math.max(0, deadline - Date.now())), options.signal);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
