import { closeSync, mkdirSync, openSync, rmSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export interface FileLockOptions {
  /** Give up waiting after this long. */
  timeoutMs?: number;
  /** A lock file older than this is taken to belong to a crashed process and removed. */
  staleMs?: number;
  signal?: AbortSignal;
}

export class FileLockError extends Error {
  readonly code = 'lock_timeout';
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/**
 * Runs `fn` while holding an exclusive lock file (created with O_EXCL), so that concurrent CLI
 * processes do not both spend a rotating refresh token: an IdP that sees a used refresh token
 * again revokes the whole grant (OAuth 2.0 Security BCP §4.14.2).
 */
export async function withFileLock<T>(
  path: string,
  fn: () => Promise<T>,
  options: FileLockOptions = {},
): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 15_000);
  const staleMs = options.staleMs ?? 60_000;
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  for (;;) {
    try {
      closeSync(openSync(path, 'wx', 0o600));
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      try {
        if (Date.now() - statSync(path).mtimeMs > staleMs) rmSync(path, { force: true });
      } catch {
        // Removed by its holder meanwhile.
      }
      if (Date.now() > deadline) throw new FileLockError(`timed out waiting for ${path}`);
      await sleep(
        50 + Math.floor(Math.random() * 50),
        undefined,
        options.signal ? { signal: options.signal } : {},
      );
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(path, { force: true });
  }
}
