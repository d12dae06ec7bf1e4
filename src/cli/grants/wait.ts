import type { GrantState, GrantView } from '../../broker/grants/grant.types.js';
import type { BrokerClient } from '../broker-client.js';
import { CliError, DeniedError, PendingError } from '../errors.js';

export interface WaitOptions {
  /** Stop waiting after this long and return the grant still pending; default: until it is decided or expires. */
  timeoutMs?: number;
  /** Aborting returns at once by throwing the signal's reason. */
  signal?: AbortSignal;
  /** Called with every state the broker reports (the first one at once), for progress output. */
  onTick?: (grant: GrantView) => void;
  /**
   * Waits while the grant is in this state: `pending` (the default) for a decision, `approved`
   * for its end (a running tunnel watching for a revocation).
   */
  whileState?: GrantState;
}

/** One long-poll asks the broker to hold the request at most this long (the broker caps at 60 s). */
const POLL_MS = 50_000;

/**
 * Waits for a decision on a grant by long-polling `GET /v1/grants/:id/wait`: the broker answers as
 * soon as the state is no longer `pending` (woken by its store, from any replica), so a decision
 * reaches the caller within a second without polling hard. Returns the last grant seen: decided,
 * or still `pending` when `timeoutMs` passed. A broker that is briefly unreachable is retried.
 * With `whileState: 'approved'` the same long-poll returns when an active grant is revoked or ends.
 */
export async function waitForGrant(
  client: BrokerClient,
  id: string,
  options: WaitOptions = {},
): Promise<GrantView> {
  const whileState = options.whileState ?? 'pending';
  const deadline =
    options.timeoutMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + options.timeoutMs;
  let grant: GrantView | null = null;
  let failures = 0;
  for (;;) {
    options.signal?.throwIfAborted();
    const remaining = deadline - Date.now();
    const pollMs: number = grant ? Math.max(0, Math.min(POLL_MS, remaining)) : 0;
    const query = `timeout_ms=${Math.floor(pollMs)}${whileState === 'pending' ? '' : `&while=${whileState}`}`;
    const sent = Date.now();
    try {
      const res: { grant: GrantView } = await client.request<{ grant: GrantView }>(
        'GET',
        `/v1/grants/${encodeURIComponent(id)}/wait?${query}`,
        undefined,
        { signal: options.signal, timeoutMs: pollMs + 15_000 },
      );
      grant = res.grant;
      failures = 0;
    } catch (err) {
      if (options.signal?.aborted) throw options.signal.reason;
      const code = err instanceof CliError ? err.code : '';
      // Transient: the broker restarted or a proxy cut the long-poll. Anything else is final.
      if (
        !['broker_unreachable', 'broker_timeout', 'internal', 'http_502', 'http_503', 'http_504'].includes(
          code,
        )
      )
        throw err;
      if (++failures > 30 || Date.now() >= deadline) throw err;
      await sleep(Math.min(1000 * failures, 5000), options.signal);
      continue;
    }
    const current: GrantView = grant;
    options.onTick?.(current);
    if (current.state !== whileState || Date.now() >= deadline) return current;
    // An unchanged state long before the poll's timeout: a broker that does not know `while`
    // answers at once, so wait here rather than ask again in a tight loop.
    if (whileState !== 'pending' && pollMs > 0 && Date.now() - sent < pollMs / 2)
      await sleep(Math.min(5000, Math.max(0, deadline - Date.now())), options.signal);
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** The last decision of a kind, for messages ("denied by bob: use the replica"). */
export function lastDecision(grant: GrantView, kind: 'approve' | 'deny') {
  return [...grant.decisions].reverse().find((d) => d.decision === kind);
}

/**
 * The error a waiting command ends with when the grant is not usable, or null when it is
 * approved: exit 5 for denied/revoked (with the approver's reason), 6 for still pending or expired.
 */
export function grantOutcomeError(grant: GrantView): CliError | null {
  switch (grant.state) {
    case 'approved':
      return null;
    case 'denied': {
      const d = lastDecision(grant, 'deny');
      return new DeniedError(
        `${d?.approver ?? 'an approver'} denied your request for ${grant.target}${d?.comment ? `: ${d.comment}` : ''}`,
        { code: 'grant_denied' },
      );
    }
    case 'revoked':
      return new DeniedError(
        `your grant to ${grant.target} was revoked${grant.revoked_by ? ` by ${grant.revoked_by}` : ''}` +
          (grant.end_reason ? `: ${grant.end_reason}` : ''),
        { code: 'grant_revoked' },
      );
    case 'expired':
      return new PendingError(`your request for ${grant.target} (${grant.id}) expired without a decision`, {
        code: 'grant_expired',
        hint: 'Ask an approver directly, or request again with `gatectl request`.',
      });
    case 'pending':
      return new PendingError(`your request for ${grant.target} (${grant.id}) is still pending`, {
        code: 'grant_pending',
        hint: `Wait again with \`gatectl grants\` to check, or ask an approver to run \`gatectl approve ${grant.id}\`.`,
      });
    case 'ended':
      return new CliError(
        `your grant to ${grant.target} has ended${grant.end_reason ? ` (${grant.end_reason})` : ''}`,
        { code: 'grant_ended' },
      );
  }
}

/**
 * Withdraws a request its requester stopped waiting for (Ctrl-C), so nobody approves what is no
 * longer wanted; returns what to tell them. A client still being made counts as the attempt.
 */
export async function withdrawRequest(
  client: BrokerClient | Promise<BrokerClient>,
  id: string,
  timeoutMs: number,
): Promise<string> {
  try {
    await (await client).request('POST', `/v1/grants/${encodeURIComponent(id)}/withdraw`, {}, { timeoutMs });
    return `Withdrew request ${id}.`;
  } catch (err) {
    return `Could not withdraw request ${id} (${(err as Error).message}); it expires undecided.`;
  }
}
