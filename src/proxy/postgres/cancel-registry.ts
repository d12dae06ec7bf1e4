import { randomInt, timingSafeEqual } from 'node:crypto';
import type { PostgresTargetConfig } from '../../broker/config/schema.js';

/** What the broker needs to cancel a query on the target: its address and the backend's key. */
export interface UpstreamCancelKey {
  target: PostgresTargetConfig;
  pid: number;
  key: Buffer;
}

export interface CancelRegistration {
  pid: number;
  key: number;
  release(): void;
}

interface Entry {
  key: Buffer;
  upstream: UpstreamCancelKey;
}

/**
 * Maps the BackendKeyData the broker hands to clients onto the target's own. Clients never see
 * the target's process id or key, and a CancelRequest only reaches a backend when the client
 * presents a key this broker issued.
 */
export class CancelRegistry {
  readonly #entries = new Map<number, Entry>();

  issue(upstream: UpstreamCancelKey): CancelRegistration {
    let pid: number;
    do pid = randomInt(1, 0x7fffffff);
    while (this.#entries.has(pid));
    const key = randomInt(0, 0x7fffffff) | (randomInt(0, 2) << 31);
    const keyBytes = Buffer.alloc(4);
    keyBytes.writeInt32BE(key);
    const entry: Entry = { key: keyBytes, upstream };
    this.#entries.set(pid, entry);
    return {
      pid,
      key,
      release: () => {
        if (this.#entries.get(pid) === entry) this.#entries.delete(pid);
      },
    };
  }

  lookup(pid: number, key: Buffer): UpstreamCancelKey | undefined {
    const entry = this.#entries.get(pid);
    if (!entry || entry.key.length !== key.length || !timingSafeEqual(entry.key, key)) return undefined;
    return entry.upstream;
  }

  get size(): number {
    return this.#entries.size;
  }
}

/** One registry per broker process: a cancel arrives on a new connection, possibly another tunnel. */
export const cancelRegistry = new CancelRegistry();
