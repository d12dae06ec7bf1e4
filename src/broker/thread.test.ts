import { type ResourceLimits, Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { BROKER_RESOURCE_LIMITS } from './thread.js';

/**
 * Keeps 500 sessions' worth of objects alive (the way a broker setting up sessions does) and
 * reports the largest the young generation ("new_space", both semi-spaces) grew to.
 */
const KEEP_SURVIVORS = `
const { parentPort } = require('node:worker_threads');
const v8 = require('node:v8');
const keep = [];
let largest = 0;
for (let session = 0; session < 500; session++) {
  const objects = [];
  for (let i = 0; i < 200; i++) objects.push({ session, i, name: 'object ' + i, links: [i, session] });
  keep.push(objects);
  const young = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
  largest = Math.max(largest, young.space_size);
}
parentPort.postMessage({ largest, kept: keep.length });
`;

function largestYoungGeneration(resourceLimits?: ResourceLimits): Promise<number> {
  return new Promise((resolve, reject) => {
    const w = new Worker(KEEP_SURVIVORS, { eval: true, ...(resourceLimits ? { resourceLimits } : {}) });
    w.once('message', (m: { largest: number; kept: number }) => {
      expect(m.kept).toBe(500);
      resolve(m.largest);
    });
    w.once('error', reject);
  });
}

describe('BROKER_RESOURCE_LIMITS', () => {
  it('keeps the young generation at 4 MiB where it would otherwise grow past 16 MiB', async () => {
    const MiB = 1024 * 1024;
    // The same survivors grow an uncapped young generation: the cap is what holds it.
    expect(await largestYoungGeneration()).toBeGreaterThan(16 * MiB);
    expect(await largestYoungGeneration(BROKER_RESOURCE_LIMITS)).toBeLessThanOrEqual(4 * MiB);
  });
});
