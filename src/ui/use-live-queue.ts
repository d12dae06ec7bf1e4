import { useEffect, useState } from 'react';
import type { GrantView } from '../broker/grants/grant.types.js';
import { inQueue, type ReviewApi } from './review-api.js';

export interface LiveQueue {
  items: GrantView[];
  loaded: boolean;
  error: string | null;
  /** Replaces one item at once with what an action returned, before the next list arrives. */
  patch(g: GrantView): void;
}

/**
 * The queue, kept current by long-polling the broker with the etag of the list we hold: the
 * broker answers as soon as anything visible changes, on any replica.
 */
export function useLiveQueue(api: ReviewApi, pollMs = 25_000): LiveQueue {
  const [items, setItems] = useState<GrantView[]>([]);
  const [loaded, setLoaded] = useState(false);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    const stop = new AbortController();
    void (async () => {
      let etag: string | undefined;
      while (!stop.signal.aborted) {
        try {
          const res = await api.list({ etag, timeoutMs: pollMs, signal: stop.signal });
          if (stop.signal.aborted) return;
          etag = res.etag;
          setItems(res.grants.filter(inQueue));
          setLoaded(true);
          setError(null);
        } catch (err) {
          if (stop.signal.aborted) return;
          setError((err as Error).message);
          await new Promise((r) => setTimeout(r, 2000));
        }
      }
    })();
    return () => stop.abort();
  }, [api, pollMs]);
  const patch = (g: GrantView) =>
    setItems((prev) => prev.flatMap((x) => (x.id === g.id ? (inQueue(g) ? [{ ...g }] : []) : [x])));
  return { items, loaded, error, patch };
}
