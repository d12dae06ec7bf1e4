import { describe, expect, it } from 'vitest';
import type { PostgresTargetConfig } from '../../broker/config/schema.js';
import { CancelRegistry } from './cancel-registry.js';

const target = { name: 't' } as PostgresTargetConfig;

describe('CancelRegistry', () => {
  it('maps an issued key to the upstream key, and nothing else', () => {
    const registry = new CancelRegistry();
    const upstream = { target, pid: 4242, key: Buffer.from([9, 9, 9, 9]) };
    const reg = registry.issue(upstream);
    expect(reg.pid).not.toBe(4242);
    const key = Buffer.alloc(4);
    key.writeInt32BE(reg.key);
    expect(registry.lookup(reg.pid, key)).toBe(upstream);
    const wrong = Buffer.from(key);
    wrong[3] = wrong[3]! ^ 1;
    expect(registry.lookup(reg.pid, wrong)).toBeUndefined();
    expect(registry.lookup(reg.pid, Buffer.alloc(8))).toBeUndefined();
    reg.release();
    expect(registry.lookup(reg.pid, key)).toBeUndefined();
    expect(registry.size).toBe(0);
  });

  it('issues distinct process ids', () => {
    const registry = new CancelRegistry();
    const pids = new Set(
      Array.from({ length: 1000 }, () => registry.issue({ target, pid: 1, key: Buffer.alloc(4) }).pid),
    );
    expect(pids.size).toBe(1000);
  });
});
