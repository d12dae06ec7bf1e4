import type { GrantView } from '../broker/grants/grant.types.js';
import type { BrokerClient } from '../cli/broker-client.js';

/** What the review UI needs from the broker; a BrokerClient provides it, tests may pass any implementation. */
export interface ReviewApi {
  /**
   * The queue: pending requests I may decide and approved grants I may revoke. With `etag`, the
   * broker answers once the list differs from that version (or after `timeoutMs`).
   */
  list(options?: {
    etag?: string;
    timeoutMs?: number;
    signal?: AbortSignal;
  }): Promise<{ grants: GrantView[]; etag: string }>;
  approve(id: string, comment?: string | null): Promise<GrantView>;
  deny(id: string, reason: string): Promise<GrantView>;
  revoke(id: string, reason?: string | null): Promise<GrantView>;
}

/** Items shown in the queue. A held statement (a later kind of approval) would carry its SQL. */
export type QueueItem = GrantView & { sql?: string | null };

export function inQueue(g: GrantView): boolean {
  return (
    (g.state === 'pending' && g.can_decide === true) || (g.state === 'approved' && g.can_revoke === true)
  );
}

export function brokerReviewApi(client: BrokerClient): ReviewApi {
  const post = async (id: string, action: string, body: unknown) =>
    (
      await client.request<{ grant: GrantView }>(
        'POST',
        `/v1/grants/${encodeURIComponent(id)}/${action}`,
        body,
      )
    ).grant;
  return {
    async list(options = {}) {
      const q = new URLSearchParams({ scope: 'all', state: 'pending,approved' });
      if (options.etag) {
        q.set('etag', options.etag);
        q.set('timeout_ms', String(options.timeoutMs ?? 25_000));
      }
      return client.request<{ grants: GrantView[]; etag: string }>('GET', `/v1/grants?${q}`, undefined, {
        signal: options.signal,
        timeoutMs: (options.timeoutMs ?? 25_000) + 15_000,
      });
    },
    approve: (id, comment) => post(id, 'approve', { comment: comment ?? null }),
    deny: (id, reason) => post(id, 'deny', { reason }),
    revoke: (id, reason) => post(id, 'revoke', { reason: reason ?? null }),
  };
}
