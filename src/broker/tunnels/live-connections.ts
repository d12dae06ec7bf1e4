import type { BrokerContext } from '../context.js';
import { getGrant, onGrantChange } from '../grants/service.js';
import { HttpError } from '../http-error.js';
import { closeTunnelsOfGrant, grantEndedReason } from './service.js';

/** Why the broker ends a connection: a stable code for the record and a sentence for the client. */
export interface EndReason {
  code: string;
  message: string;
}

export interface LiveConnection {
  tunnelId: string;
  grantId: string;
  /** Ends the connection: the engine sends FATAL with the message and closes. */
  end(reason: EndReason): void;
  /** Settles when the connection is over and recorded. */
  done: Promise<void>;
}

/** Longest delay `setTimeout` accepts; later grant ends are re-armed when the timer fires. */
const MAX_TIMER = 2 ** 31 - 1;

/**
 * The broker's open tunnel connections, ended when their grant is revoked or runs out (a
 * change notification from any replica, or a timer at `ends_at`) and when the broker stops.
 */
export class LiveConnections {
  readonly #ctx: BrokerContext;
  readonly #byGrant = new Map<string, { conns: Set<LiveConnection>; timer: NodeJS.Timeout | undefined }>();
  #unlisten: Promise<() => Promise<void>> | undefined;
  #sweeper: NodeJS.Timeout | undefined;
  #closing = false;

  constructor(ctx: BrokerContext) {
    this.#ctx = ctx;
  }

  /** Subscribes to grant changes and starts the sweep that closes tunnels of expired grants. */
  start(): void {
    this.#unlisten = onGrantChange(this.#ctx, (grantId) => void this.check(grantId));
    this.#unlisten.catch((err) => this.#ctx.log.error({ err }, 'cannot watch grant changes'));
    this.#sweeper = setInterval(() => void this.#sweep(), 10_000).unref();
  }

  get size(): number {
    let n = 0;
    for (const e of this.#byGrant.values()) n += e.conns.size;
    return n;
  }

  /** Registers a connection under its grant (whose end is `endsAt`); returns the function that forgets it. */
  add(conn: LiveConnection, endsAt: number): () => void {
    if (this.#closing) {
      conn.end({ code: 'broker_shutdown', message: 'the broker is shutting down' });
    }
    let entry = this.#byGrant.get(conn.grantId);
    if (!entry) {
      entry = { conns: new Set(), timer: undefined };
      this.#byGrant.set(conn.grantId, entry);
      this.#arm(conn.grantId, endsAt);
    }
    entry.conns.add(conn);
    return () => {
      const e = this.#byGrant.get(conn.grantId);
      if (!e) return;
      e.conns.delete(conn);
      if (e.conns.size === 0) {
        clearTimeout(e.timer);
        this.#byGrant.delete(conn.grantId);
      }
    };
  }

  #arm(grantId: string, endsAt: number): void {
    const entry = this.#byGrant.get(grantId);
    if (!entry) return;
    // A few ms late so that `ends_at <= now` holds when the timer fires.
    const delay = Math.max(0, endsAt - this.#ctx.now() + 5);
    entry.timer = setTimeout(() => void this.check(grantId), Math.min(delay, MAX_TIMER)).unref();
  }

  /** Re-reads a grant and ends its connections and tunnels if it no longer allows traffic. */
  async check(grantId: string): Promise<void> {
    try {
      const grant = await getGrant(this.#ctx, grantId).catch((err) => {
        if (err instanceof HttpError && err.status === 404) return undefined;
        throw err;
      });
      const reason = grantEndedReason(grant, this.#ctx.now());
      const entry = this.#byGrant.get(grantId);
      if (!reason) {
        if (entry && grant?.ends_at) {
          clearTimeout(entry.timer);
          this.#arm(grantId, grant.ends_at);
        }
        return;
      }
      if (entry) {
        clearTimeout(entry.timer);
        this.#byGrant.delete(grantId);
        for (const c of entry.conns) c.end(reason);
      }
      await closeTunnelsOfGrant(this.#ctx, grantId, reason.code);
    } catch (err) {
      this.#ctx.log.error({ err, grant_id: grantId }, 'grant check failed');
    }
  }

  /** Ends the connections of one tunnel (the CLI closed it). */
  endTunnel(tunnelId: string, reason: EndReason): void {
    for (const e of this.#byGrant.values())
      for (const c of e.conns) if (c.tunnelId === tunnelId) c.end(reason);
  }

  async #sweep(): Promise<void> {
    try {
      const expired = await this.#ctx.store.db
        .selectFrom('tunnels')
        .select('grant_id')
        .distinct()
        .where('closed_at', 'is', null)
        .where('expires_at', '<=', this.#ctx.now())
        .execute();
      for (const t of expired) await this.check(t.grant_id);
    } catch (err) {
      this.#ctx.log.warn({ err }, 'tunnel sweep failed');
    }
  }

  /** Ends every connection (broker shutdown) and waits, at most `timeoutMs`, for them to be recorded. */
  async close(timeoutMs = 3000): Promise<void> {
    this.#closing = true;
    clearInterval(this.#sweeper);
    const all: LiveConnection[] = [];
    for (const e of this.#byGrant.values()) {
      clearTimeout(e.timer);
      all.push(...e.conns);
    }
    for (const c of all) c.end({ code: 'broker_shutdown', message: 'the broker is shutting down' });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled(all.map((c) => c.done)),
      new Promise((r) => {
        timer = setTimeout(r, timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    const unlisten = await this.#unlisten?.catch(() => undefined);
    await unlisten?.();
  }
}
