import { chmodSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** What `gatectl login` keeps for a profile. Token values never leave this record except as bearer tokens. */
export interface StoredLogin {
  broker: string;
  /** The broker session token. */
  token: string;
  /** RFC 3339. */
  expires_at: string;
  identity: string;
  groups: string[];
  /** The IdP's refresh token, when the IdP gave one (device flow with offline_access). */
  refresh_token?: string;
  /** IdP issuer and client the refresh token belongs to. */
  issuer?: string;
  client_id?: string;
}

export type CredentialLocation = 'keychain' | 'file';

export interface CredentialStoreOptions {
  /** The CLI config directory; the fallback file lives there. */
  dir: string;
  env: NodeJS.ProcessEnv;
  /** Where the one-time notice about the fallback file goes. */
  stderr: NodeJS.WritableStream;
  /** Per keychain call. */
  timeoutMs?: number;
}

export class CredentialStoreError extends Error {
  readonly code = 'credential_store';
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, options);
    this.name = new.target.name;
  }
}

const SERVICE = 'gatectl';
const FILE = 'credentials.json';

interface KeyringEntry {
  getPassword(signal?: AbortSignal): Promise<string | null>;
  setPassword(password: string, signal?: AbortSignal): Promise<void>;
  deletePassword(signal?: AbortSignal): Promise<boolean>;
}

/**
 * Tokens in the OS keychain (`@napi-rs/keyring`, one entry per profile), else in a file of mode
 * 0600 in the config directory. Every keychain call runs under a timeout, as GitHub CLI does: a
 * locked or absent Secret Service must not hang a command. `GATECTL_NO_KEYRING=1` forces the file.
 */
export class CredentialStore {
  readonly file: string;
  readonly #env: NodeJS.ProcessEnv;
  readonly #stderr: NodeJS.WritableStream;
  readonly #timeoutMs: number;
  #keychain: Promise<boolean> | undefined;
  #noticed = false;

  constructor(options: CredentialStoreOptions) {
    this.file = join(options.dir, FILE);
    this.#env = options.env;
    this.#stderr = options.stderr;
    this.#timeoutMs = options.timeoutMs ?? 3000;
  }

  async load(profile: string): Promise<{ login: StoredLogin; location: CredentialLocation } | null> {
    const entry = await this.#entry(profile);
    if (entry) {
      try {
        const raw = await this.#timed((signal) => entry.getPassword(signal));
        if (raw) return { login: JSON.parse(raw) as StoredLogin, location: 'keychain' };
      } catch {
        // Fall through to the file: a keychain that fails now may have failed at login too.
      }
    }
    const fromFile = this.#readFile().profiles[profile];
    return fromFile ? { login: fromFile, location: 'file' } : null;
  }

  /**
   * Saves the login and returns where it went. When that is the file, `notice` tells the user
   * (login does; a silent renewal does not repeat it).
   */
  async save(
    profile: string,
    login: StoredLogin,
    options: { notice?: boolean } = {},
  ): Promise<CredentialLocation> {
    const entry = await this.#entry(profile);
    if (entry) {
      try {
        await this.#timed((signal) => entry.setPassword(JSON.stringify(login), signal));
        this.#removeFromFile(profile);
        return 'keychain';
      } catch {
        // No usable keychain after all: use the file.
      }
    }
    const data = this.#readFile();
    data.profiles[profile] = login;
    this.#writeFile(data);
    if (options.notice !== false && !this.#noticed) {
      this.#noticed = true;
      this.#stderr.write(
        `No OS keychain is available: tokens are stored in ${this.file} (readable only by you, mode 0600).\n`,
      );
    }
    return 'file';
  }

  /** Removes the profile's tokens from the keychain and the file. */
  async remove(profile: string): Promise<void> {
    const entry = await this.#entry(profile);
    if (entry) {
      try {
        await this.#timed((signal) => entry.deletePassword(signal));
      } catch {
        // Nothing stored there, or no keychain.
      }
    }
    this.#removeFromFile(profile);
  }

  async #entry(profile: string): Promise<KeyringEntry | null> {
    if (this.#env.GATECTL_NO_KEYRING && this.#env.GATECTL_NO_KEYRING !== '0') return null;
    try {
      const { AsyncEntry } = await import('@napi-rs/keyring');
      // On Linux only the Secret Service persists across logins; the kernel keyring that the
      // library falls back to by default forgets everything at logout.
      const entry = new AsyncEntry(SERVICE, profile, { linux: { store: 'secret-service' } });
      this.#keychain ??= this.#timed((signal) => entry.getPassword(signal)).then(
        () => true,
        () => false,
      );
      return (await this.#keychain) ? entry : null;
    } catch {
      return null;
    }
  }

  #timed<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const ac = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        ac.abort();
        reject(new CredentialStoreError('the OS keychain did not answer in time'));
      }, this.#timeoutMs);
      timer.unref();
    });
    return Promise.race([fn(ac.signal), timeout]).finally(() => clearTimeout(timer));
  }

  #readFile(): { profiles: Record<string, StoredLogin> } {
    try {
      const parsed = JSON.parse(readFileSync(this.file, 'utf8')) as {
        profiles?: Record<string, StoredLogin>;
      };
      return { profiles: parsed.profiles ?? {} };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { profiles: {} };
      throw new CredentialStoreError(`cannot read ${this.file}: remove it and run \`gatectl login\``, {
        cause: err,
      });
    }
  }

  #writeFile(data: { profiles: Record<string, StoredLogin> }): void {
    if (Object.keys(data.profiles).length === 0) {
      rmSync(this.file, { force: true });
      return;
    }
    mkdirSync(join(this.file, '..'), { recursive: true, mode: 0o700 });
    const tmp = `${this.file}.${process.pid}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(data, null, 2)}\n`, { mode: 0o600 });
    // `mode` applies only when the file is created; a leftover temp file keeps its own.
    chmodSync(tmp, 0o600);
    renameSync(tmp, this.file);
  }

  #removeFromFile(profile: string): void {
    let data: { profiles: Record<string, StoredLogin> };
    try {
      data = this.#readFile();
    } catch {
      return;
    }
    if (!(profile in data.profiles)) return;
    delete data.profiles[profile];
    this.#writeFile(data);
  }
}
