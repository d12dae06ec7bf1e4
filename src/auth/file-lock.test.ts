import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { FileLockError, withFileLock } from './file-lock.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const lockPath = () => {
  const d = mkdtempSync(join(tmpdir(), 'gatectl-lock-'));
  dirs.push(d);
  return join(d, 'renew.lock');
};

describe('withFileLock', () => {
  it('serialises holders', async () => {
    const path = lockPath();
    const order: string[] = [];
    const task = (name: string) =>
      withFileLock(path, async () => {
        order.push(`${name}:in`);
        await sleep(30);
        order.push(`${name}:out`);
      });
    await Promise.all([task('a'), task('b'), task('c')]);
    for (let i = 0; i < order.length; i += 2)
      expect(order[i]!.split(':')[0]).toBe(order[i + 1]!.split(':')[0]);
    expect(order).toHaveLength(6);
  });

  it('times out behind a live holder and takes over a stale one', async () => {
    const path = lockPath();
    writeFileSync(path, '');
    await expect(withFileLock(path, async () => 1, { timeoutMs: 200 })).rejects.toBeInstanceOf(FileLockError);
    const old = new Date(Date.now() - 120_000);
    utimesSync(path, old, old);
    expect(await withFileLock(path, async () => 2, { timeoutMs: 1000 })).toBe(2);
  });
});
