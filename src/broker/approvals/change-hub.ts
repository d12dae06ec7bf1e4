import type { BrokerContext } from '../context.js';

type Handler = (key: string) => void;

/**
 * One store subscription per broker and channel, fanned out in process to everyone waiting on a
 * key (a grant id, a request id). Waiting clients are woken by the store, never by polling it
 * (DESIGN §4): SQLite delivers in process, PostgreSQL through LISTEN/NOTIFY from any replica.
 */
export class ChangeHub {
  readonly #byKey = new Map<string, Set<Handler>>();
  readonly #any = new Set<Handler>();
  #ready: Promise<void> | null = null;
  #unlisten: (() => Promise<void>) | null = null;
  #closed = false;

  constructor(
    private readonly ctx: BrokerContext,
    private readonly channel: string,
  ) {}

  /** Resolves once the store subscription is live; read state only after this, or a change may be missed. */
  ready(): Promise<void> {
    if (!this.#ready) {
      this.#ready = this.ctx.store
        .listen(this.channel, (key) => this.#dispatch(key))
        .then(async (unlisten) => {
          if (this.#closed) await unlisten();
          else this.#unlisten = unlisten;
        });
      this.#ready.catch(() => {
        this.#ready = null;
      });
    }
    return this.#ready;
  }

  /** Calls `handler` when `key` changes; `'*'` hears every key. Returns the unsubscribe function. */
  subscribe(key: string, handler: Handler): () => void {
    if (key === '*') {
      this.#any.add(handler);
      return () => this.#any.delete(handler);
    }
    let set = this.#byKey.get(key);
    if (!set) {
      set = new Set();
      this.#byKey.set(key, set);
    }
    set.add(handler);
    return () => {
      set.delete(handler);
      if (set.size === 0 && this.#byKey.get(key) === set) this.#byKey.delete(key);
    };
  }

  #dispatch(key: string): void {
    for (const h of this.#byKey.get(key) ?? []) h(key);
    for (const h of this.#any) h(key);
  }

  async close(): Promise<void> {
    this.#closed = true;
    const u = this.#unlisten;
    this.#unlisten = null;
    if (u) await u();
  }
}

const hubs = new WeakMap<BrokerContext, Map<string, ChangeHub>>();

/** The broker's hub for `channel`, created (and closed with the broker) on first use. */
export function changeHub(ctx: BrokerContext, channel: string): ChangeHub {
  let map = hubs.get(ctx);
  if (!map) {
    map = new Map();
    hubs.set(ctx, map);
  }
  let hub = map.get(channel);
  if (!hub) {
    hub = new ChangeHub(ctx, channel);
    map.set(channel, hub);
    const h = hub;
    ctx.onClose(() => h.close());
  }
  return hub;
}

/**
 * Reads a value, and while `settled(value)` is false waits for a change of `key` (or `'*'`) on the
 * hub and reads again, until `timeoutMs` passes or `signal` aborts. Returns the last value read.
 */
export async function waitForChange<T>(
  hub: ChangeHub,
  key: string,
  read: () => Promise<T>,
  settled: (value: T) => boolean,
  options: { timeoutMs: number; signal?: AbortSignal },
): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  let dirty = false;
  let wake: (() => void) | null = null;
  const unsubscribe = hub.subscribe(key, () => {
    dirty = true;
    wake?.();
  });
  const onAbort = () => wake?.();
  options.signal?.addEventListener('abort', onAbort);
  try {
    await hub.ready();
    dirty = false;
    let value = await read();
    while (!settled(value) && !options.signal?.aborted) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) break;
      if (!dirty) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, remaining);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        wake = null;
      }
      if (!dirty) continue;
      dirty = false;
      value = await read();
    }
    return value;
  } finally {
    unsubscribe();
    options.signal?.removeEventListener('abort', onAbort);
  }
}
