import type { BrokerContext } from './context.js';
import type { GrantView } from './grants/grant.types.js';

/** What the webhook says happened. */
export type NotifyEvent =
  | 'grant.requested'
  | 'grant.auto_approved'
  | 'grant.approval_recorded'
  | 'grant.approved'
  | 'grant.denied'
  | 'grant.expired'
  | 'grant.revoked';

/**
 * The JSON body POSTed to `notify.webhook_url`. `text` makes it a valid Slack incoming-webhook
 * message; the other fields are for machines (stable names).
 */
export interface WebhookPayload {
  text: string;
  event: NotifyEvent;
  at: string;
  actor: string | null;
  comment: string | null;
  grant: Pick<
    GrantView,
    | 'id'
    | 'target'
    | 'identity'
    | 'groups'
    | 'reason'
    | 'state'
    | 'duration_ms'
    | 'request_expires_at'
    | 'ends_at'
  > & { approvals: number; approvals_required: number };
}

export interface WebhookOptions {
  /** Delays before each retry, in ms; the number of entries is the number of retries. */
  backoffMs?: readonly number[];
  /** Time allowed for one POST. */
  attemptTimeoutMs?: number;
}

const DEFAULT_BACKOFF = [500, 1000, 2000, 4000, 8000];

/**
 * Delivers webhook notifications in the background: a decision never waits for the receiver.
 * Each payload is retried with backoff on network errors and non-2xx answers; a delivery that
 * still fails is logged with the receiver's origin only (Slack-style URLs carry a secret in the path).
 */
export class WebhookNotifier {
  readonly #url: string;
  readonly #ctx: BrokerContext;
  readonly #backoff: readonly number[];
  readonly #attemptTimeoutMs: number;
  readonly #inflight = new Set<Promise<void>>();
  readonly #stop = new AbortController();

  constructor(ctx: BrokerContext, url: string, options: WebhookOptions = {}) {
    this.#ctx = ctx;
    this.#url = url;
    this.#backoff = options.backoffMs ?? DEFAULT_BACKOFF;
    this.#attemptTimeoutMs = options.attemptTimeoutMs ?? 5000;
  }

  get origin(): string {
    try {
      return new URL(this.#url).origin;
    } catch {
      return '[webhook]';
    }
  }

  /** Queues a delivery and returns at once. */
  send(payload: WebhookPayload): void {
    const p = this.#deliver(payload).finally(() => this.#inflight.delete(p));
    this.#inflight.add(p);
  }

  /** Resolves when every queued delivery has finished (tests, shutdown). */
  async drain(): Promise<void> {
    while (this.#inflight.size > 0) await Promise.allSettled([...this.#inflight]);
  }

  async close(): Promise<void> {
    this.#stop.abort();
    await this.drain();
  }

  async #deliver(payload: WebhookPayload): Promise<void> {
    const body = JSON.stringify(payload);
    const log = this.#ctx.log.child({
      webhook: this.origin,
      event: payload.event,
      grant_id: payload.grant.id,
    });
    for (let attempt = 0; ; attempt++) {
      if (this.#stop.signal.aborted) return;
      let problem: string;
      try {
        const res = await fetch(this.#url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'user-agent': 'gatectl-broker' },
          body,
          redirect: 'error',
          signal: AbortSignal.any([this.#stop.signal, AbortSignal.timeout(this.#attemptTimeoutMs)]),
        });
        // The body is not needed; reading it frees the connection.
        await res.arrayBuffer().catch(() => {});
        if (res.ok) {
          if (attempt > 0) log.info({ attempts: attempt + 1 }, 'webhook delivered after retries');
          return;
        }
        problem = `HTTP ${res.status}`;
      } catch (err) {
        if (this.#stop.signal.aborted) return;
        const e = err as Error & { cause?: { code?: string } };
        problem = e.name === 'TimeoutError' ? 'timed out' : (e.cause?.code ?? e.name);
      }
      const delay = this.#backoff[attempt];
      if (delay === undefined) {
        log.error({ attempts: attempt + 1, problem }, 'webhook delivery failed; giving up');
        return;
      }
      log.warn({ attempt: attempt + 1, problem, retry_in_ms: delay }, 'webhook delivery failed; retrying');
      await sleep(delay, this.#stop.signal);
    }
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    t.unref();
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

const notifiers = new WeakMap<BrokerContext, WebhookNotifier | null>();

/** The broker's webhook notifier, or null when `notify.webhook_url` is not set. */
export function webhookNotifier(ctx: BrokerContext, options?: WebhookOptions): WebhookNotifier | null {
  if (notifiers.has(ctx)) return notifiers.get(ctx)!;
  const url = ctx.config.notify.webhook_url;
  const n = url ? new WebhookNotifier(ctx, url, options) : null;
  notifiers.set(ctx, n);
  if (n) ctx.onClose(() => n.close());
  return n;
}

/** A Slack-compatible one-line summary. */
export function webhookText(
  event: NotifyEvent,
  view: GrantView,
  actor: string | null,
  comment: string | null,
): string {
  const who = view.identity;
  const dur = Math.round(view.duration_ms / 60_000);
  const why = view.reason ? ` — “${view.reason}”` : '';
  const note = comment ? ` — “${comment}”` : '';
  switch (event) {
    case 'grant.requested':
      return `${who} requests ${view.target} for ${dur} min${why}. Approve: \`gatectl approve ${view.id}\``;
    case 'grant.auto_approved':
      return `${who} was granted ${view.target} automatically for ${dur} min${why}`;
    case 'grant.approval_recorded':
      return `${actor} approved ${who}’s request for ${view.target} (${view.decisions.filter((d) => d.decision === 'approve').length} of ${view.approvals_required})${note}`;
    case 'grant.approved':
      return `${actor} approved ${who}’s access to ${view.target} for ${dur} min${note}`;
    case 'grant.denied':
      return `${actor} denied ${who}’s access to ${view.target}${note}`;
    case 'grant.expired':
      return `${who}’s request for ${view.target} expired without a decision`;
    case 'grant.revoked':
      return `${actor} revoked ${who}’s access to ${view.target}${note}`;
  }
}

/** Sends a grant event to the webhook, if one is configured; never throws. */
export function notifyGrant(
  ctx: BrokerContext,
  event: NotifyEvent,
  view: GrantView,
  actor: string | null,
  comment: string | null = null,
): void {
  const n = webhookNotifier(ctx);
  if (!n) return;
  try {
    n.send({
      text: webhookText(event, view, actor, comment),
      event,
      at: new Date(ctx.now()).toISOString(),
      actor,
      comment,
      grant: {
        id: view.id,
        target: view.target,
        identity: view.identity,
        groups: view.groups,
        reason: view.reason,
        state: view.state,
        duration_ms: view.duration_ms,
        request_expires_at: view.request_expires_at,
        ends_at: view.ends_at,
        approvals: view.decisions.filter((d) => d.decision === 'approve').length,
        approvals_required: view.approvals_required,
      },
    });
  } catch (err) {
    ctx.log.warn({ err: (err as Error).message }, 'could not queue a webhook notification');
  }
}
