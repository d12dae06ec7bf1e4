import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { Adapter, AdapterPayload } from 'oidc-provider';

interface Entry {
  payload: AdapterPayload;
  /** Epoch ms, or null for no expiry. */
  expiresAt: number | null;
}

/**
 * oidc-provider storage in one JSON file (mode 0600), so the development IdP keeps sessions,
 * grants and refresh tokens across restarts. Development only: every write rewrites the file.
 */
export class FileStore {
  readonly #file: string;
  readonly #entries = new Map<string, Entry>();

  constructor(file: string) {
    this.#file = file;
    try {
      const raw = JSON.parse(readFileSync(file, 'utf8')) as Record<string, Entry>;
      for (const [k, v] of Object.entries(raw)) this.#entries.set(k, v);
    } catch {
      // No file yet, or an unreadable one: start empty.
    }
  }

  get(key: string): AdapterPayload | undefined {
    const e = this.#entries.get(key);
    if (!e) return undefined;
    if (e.expiresAt !== null && e.expiresAt <= Date.now()) {
      this.#entries.delete(key);
      return undefined;
    }
    return e.payload;
  }

  set(key: string, payload: AdapterPayload, expiresInS: number | undefined): void {
    this.#entries.set(key, { payload, expiresAt: expiresInS ? Date.now() + expiresInS * 1000 : null });
    this.flush();
  }

  delete(key: string): void {
    if (this.#entries.delete(key)) this.flush();
  }

  keys(): string[] {
    return [...this.#entries.keys()];
  }

  flush(): void {
    const now = Date.now();
    const out: Record<string, Entry> = {};
    for (const [k, v] of this.#entries) if (v.expiresAt === null || v.expiresAt > now) out[k] = v;
    const tmp = `${this.#file}.tmp`;
    writeFileSync(tmp, JSON.stringify(out), { mode: 0o600 });
    renameSync(tmp, this.#file);
  }
}

/** An oidc-provider adapter class over a FileStore, one instance per model name. */
export function fileAdapter(store: FileStore): new (name: string) => Adapter {
  return class FileAdapter implements Adapter {
    readonly #name: string;
    constructor(name: string) {
      this.#name = name;
    }
    #key(id: string): string {
      return `${this.#name}:${id}`;
    }
    async upsert(id: string, payload: AdapterPayload, expiresIn: number): Promise<void> {
      store.set(this.#key(id), payload, expiresIn);
      if (payload.userCode) store.set(`userCode:${payload.userCode}`, { id } as AdapterPayload, expiresIn);
      if (payload.uid) store.set(`uid:${this.#name}:${payload.uid}`, { id } as AdapterPayload, expiresIn);
      if (payload.grantId) {
        const key = `grant:${payload.grantId}`;
        const list = (store.get(key)?.ids as string[] | undefined) ?? [];
        if (!list.includes(this.#key(id)))
          store.set(key, { ids: [...list, this.#key(id)] } as unknown as AdapterPayload, expiresIn);
      }
    }
    async find(id: string): Promise<AdapterPayload | undefined> {
      return store.get(this.#key(id));
    }
    async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
      const ref = store.get(`userCode:${userCode}`);
      return ref?.id ? store.get(this.#key(String(ref.id))) : undefined;
    }
    async findByUid(uid: string): Promise<AdapterPayload | undefined> {
      const ref = store.get(`uid:${this.#name}:${uid}`);
      return ref?.id ? store.get(this.#key(String(ref.id))) : undefined;
    }
    async consume(id: string): Promise<void> {
      const p = store.get(this.#key(id));
      if (p) store.set(this.#key(id), { ...p, consumed: Math.floor(Date.now() / 1000) }, remaining(p));
    }
    async destroy(id: string): Promise<void> {
      store.delete(this.#key(id));
    }
    async revokeByGrantId(grantId: string): Promise<void> {
      const key = `grant:${grantId}`;
      for (const k of (store.get(key)?.ids as string[] | undefined) ?? []) store.delete(k);
      store.delete(key);
    }
  };
}

function remaining(p: AdapterPayload): number | undefined {
  const exp = typeof p.exp === 'number' ? p.exp : undefined;
  return exp ? Math.max(1, exp - Math.floor(Date.now() / 1000)) : undefined;
}
