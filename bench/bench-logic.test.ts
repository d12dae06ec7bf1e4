import { describe, expect, it } from 'vitest';
import { renderAbSummary, signTestPValue, summarizeAb } from './ab-stats.js';
import { benchPans, luhnComplete, luhnValid, maskedInOutput } from './copy.js';
import { combineRounds, parsePgbench } from './pgbench.js';
import { evaluate, median, medianByRole, renderReport } from './report.js';
import type { BenchResults, Outcome } from './results.types.js';

const PGBENCH_15_OUTPUT = `pgbench (15.20 (Debian 15.20-0+deb12u1), server 17.10)
transaction type: <builtin: select only>
scaling factor: 10
query mode: simple
number of clients: 8
number of threads: 2
maximum number of tries: 1
duration: 10 s
number of transactions actually processed: 174213
number of failed transactions: 0 (0.000%)
latency average = 0.459 ms
initial connection time = 12.345 ms
tps = 17421.300000 (without initial connection time)
`;

describe('parsePgbench', () => {
  it('reads tps, latency, transactions and failures', () => {
    expect(parsePgbench(PGBENCH_15_OUTPUT)).toEqual({
      tps: 17421.3,
      latencyMs: 0.459,
      transactions: 174213,
      failed: 0,
    });
  });
  it('refuses output without a summary', () => {
    expect(() => parsePgbench('pgbench: error: connection to server failed')).toThrow(/cannot read pgbench/);
  });
});

describe('card numbers', () => {
  it('completes and checks Luhn numbers', () => {
    expect(luhnComplete('411111111111111')).toBe('4111111111111111');
    expect(luhnValid('5555555555554444')).toBe(true);
    expect(luhnValid('4012888888881881')).toBe(true);
    expect(luhnValid('4012888888881882')).toBe(false);
  });
  it('uses 1000 distinct valid 16-digit numbers', () => {
    const pans = benchPans();
    expect(new Set(pans).size).toBe(1000);
    for (const pan of pans) {
      expect(pan).toMatch(/^\d{16}$/);
      expect(luhnValid(pan)).toBe(true);
    }
  });
  it('tells a masked value from the original', () => {
    expect(maskedInOutput('4111111111111111\n', '4111111111111111')).toBe(false);
    expect(maskedInOutput('************1111\n', '4111111111111111')).toBe(true);
    expect(maskedInOutput('tunnel ready\n4111111111111111\n', '4111111111111111')).toBe(false);
    expect(() => maskedInOutput('\n', '4111111111111111')).toThrow();
  });
});

describe('report', () => {
  it('takes medians', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
    expect(median([])).toBeNaN();
  });

  const ok = <T>(value: T): Outcome<T> => ({ status: 'ok', value });
  const run = (tps: number, latencyMs: number) => ok({ tps, latencyMs, transactions: 1000, failed: 0 });
  const raw: Omit<BenchResults, 'targets' | 'ratios'> = {
    version: 1,
    startedAt: '2026-01-01T00:00:00.000Z',
    finishedAt: '2026-01-01T00:05:00.000Z',
    machine: {
      cpus: 2,
      loadAverage: [0, 0, 0],
      autogroup: true,
      node: 'v20',
      pgbench: null,
      postgres: null,
      pgbouncer: null,
    },
    git: null,
    brokerTarget: null,
    settings: {
      seconds: 10,
      rounds: 2,
      scale: 10,
      copyRows: 2_000_000,
      copyRuns: 3,
      execRuns: 15,
      connections: 500,
      queriesPerConnection: 20,
      only: null,
    },
    pgbench: {
      'c1-simple': {
        direct: run(10000, 0.1),
        relay: run(5000, 0.2),
        relayExec: run(4800, 0.21),
        pgbouncer: { status: 'skipped', reason: 'not installed' },
        gatectl: run(4000, 0.25),
      },
      'c8-simple': {
        direct: run(20000, 0.4),
        relay: run(8000, 1),
        relayExec: run(7700, 1.04),
        pgbouncer: { status: 'skipped', reason: 'not installed' },
        gatectl: run(7600, 1.05),
      },
      'c8-extended': {
        direct: run(20000, 0.4),
        relay: run(8000, 1),
        relayExec: { status: 'failed', error: 'exit 1' },
        pgbouncer: { status: 'skipped', reason: 'not installed' },
        gatectl: { status: 'failed', error: 'exit 1: tunnel closed' },
      },
    },
    copy: {
      direct: ok({ runsMs: [1000], medianMs: 1000 }),
      relay: ok({ runsMs: [1050], medianMs: 1050, cpuMs: { 'hop A': 230, 'hop B': 280, psql: 150 } }),
      gatectl: ok({ runsMs: [1200], medianMs: 1200, cpuMs: { broker: 290, 'gatectl CLI': null } }),
    },
    execTrue: ok({ runsMs: [300, 350, 500], medianMs: 350 }),
    maskingThroughTunnel: ok(true),
    concurrency: {
      direct: { status: 'skipped', reason: 'not run' },
      gatectl: ok({
        connections: 500,
        queriesPerConnection: 20,
        connectErrors: 0,
        queryErrors: 0,
        queriesOk: 10000,
        errors: 0,
        errorSamples: [],
        connectMs: 1000,
        totalMs: 2000,
        broker: {
          rssBeforeKb: 100_000,
          rssOpenKb: 125_000,
          rssMaxSampledKb: 126_000,
          rssAfterKb: 110_000,
          hwmBeforeKb: 100_000,
          hwmAfterKb: 126_000,
          growthPerConnectionKb: 50,
        },
      }),
    },
  };

  it('compares gatectl with the exec-shaped relay as well, informationally', () => {
    const { ratios } = evaluate(raw);
    const byId = Object.fromEntries(ratios.map((r) => [r.id, r.value]));
    expect(byId['tps-gatectl-vs-relay-exec-c8-simple']).toBeCloseTo(7600 / 7700);
    expect(byId['tps-gatectl-vs-relay-exec-c8-extended']).toBeNull();
    expect(byId['tps-relayExec-vs-direct-c1-simple']).toBeCloseTo(0.48);
  });

  it('checks each target from the measurements, and says why one cannot be checked', () => {
    const { targets } = evaluate(raw);
    const byId = Object.fromEntries(targets.map((t) => [t.id, t]));
    expect(byId['tps-vs-relay-c8-simple']).toMatchObject({ value: 0.95, pass: true });
    expect(byId['tps-vs-relay-c8-extended']).toMatchObject({
      value: null,
      pass: null,
      note: 'failed: exit 1: tunnel closed',
    });
    expect(byId['latency-added-c1-simple']!.value).toBeCloseTo(0.15);
    expect(byId['latency-added-c1-simple']!.pass).toBe(true);
    expect(byId['latency-added-c1-extended']).toMatchObject({ value: null, note: 'not measured' });
    expect(byId['copy-vs-direct']).toMatchObject({ value: 1.2, pass: false });
    expect(byId['exec-true-median']).toMatchObject({ value: 350, pass: true });
    expect(byId['concurrency-errors']).toMatchObject({ value: 0, pass: true });
    expect(byId['concurrency-memory']).toMatchObject({ value: 50, pass: true });
  });

  it('prints failures as failures, never as numbers', () => {
    const results: BenchResults = { ...raw, ...evaluate(raw) };
    const text = renderReport(results);
    expect(text.split('\n')[0]).toContain('2 CPUs, load 0.00 0.00 0.00, autogroup on,');
    expect(text).toMatch(/tps-vs-relay-c8-extended\s+—\s+>= 0.90\s+n\/a/);
    expect(text).toContain('pgbench c8-extended gatectl: failed: exit 1: tunnel closed');
    expect(text).toMatch(/copy-vs-direct\s+1\.200 ×\s+<= 1\.10\s+FAIL/);
  });

  it("prints each COPY path's CPU by process, a process that could not be read as —", () => {
    const text = renderReport({ ...raw, ...evaluate(raw) });
    expect(text).toContain(
      "COPY CPU per run, ms (median; the CLI's includes its start-up): bare 2-hop relay hop A 230 · hop B 280 · psql 150 | gatectl exec broker 290 · gatectl CLI —",
    );
  });

  it('takes the median CPU of each process over the runs that read it', () => {
    expect(
      medianByRole([
        { broker: 300, 'gatectl CLI': 400 },
        { broker: 280, 'gatectl CLI': null },
        { broker: 500, 'gatectl CLI': 360 },
      ]),
    ).toEqual({ broker: 300, 'gatectl CLI': 380 });
    expect(medianByRole([{ psql: null }])).toEqual({ psql: null });
    expect(medianByRole([])).toEqual({});
  });
});

describe('combineRounds', () => {
  it('weighs each round by the time its transactions took', () => {
    // 1000 tx at 100 tps (10 s) and 3000 tx at 300 tps (10 s): 4000 tx in 20 s.
    const c = combineRounds([
      { tps: 100, latencyMs: 80, transactions: 1000, failed: 0 },
      { tps: 300, latencyMs: 20, transactions: 3000, failed: 1 },
    ]);
    expect(c.tps).toBeCloseTo(200);
    expect(c.latencyMs).toBeCloseTo(35);
    expect(c.transactions).toBe(4000);
    expect(c.failed).toBe(1);
    expect(c.roundsTps).toEqual([100, 300]);
  });
});

describe('A/B summary', () => {
  it('computes the two-sided sign test exactly', () => {
    // 10 of 10 one way: 2 × 0.5^10.
    expect(signTestPValue(10, 0)).toBeCloseTo(2 / 1024, 12);
    expect(signTestPValue(0, 10)).toBeCloseTo(2 / 1024, 12);
    // 8 of 10: 2 × (1 + 10 + 45) / 1024.
    expect(signTestPValue(8, 2)).toBeCloseTo(112 / 1024, 12);
    // An even split, or nothing to compare, is no evidence at all.
    expect(signTestPValue(5, 5)).toBe(1);
    expect(signTestPValue(0, 0)).toBe(1);
  });

  it('summarises per-round ratios, leaving equal rounds out of the sign test', () => {
    const s = summarizeAb([1.1, 1.2, 1.05, 1, 1.08, 1.12, 1.09, 1.03, 1.07, 1.11]);
    expect(s).toMatchObject({ rounds: 10, faster: 9, slower: 0 });
    expect(s.median).toBeCloseTo(1.085, 12);
    expect(s.mean).toBeCloseTo(1.085, 12);
    expect(s.pValue).toBeCloseTo(2 / 512, 12);
    expect(renderAbSummary(s)).toContain('the candidate is faster');
  });

  it('does not call a mixed run a difference', () => {
    const s = summarizeAb([1.3, 0.9, 1.05, 0.97, 1.02, 0.95]);
    expect(s).toMatchObject({ faster: 3, slower: 3, pValue: 1 });
    expect(renderAbSummary(s)).toContain('no difference this run can tell from noise');
    expect(renderAbSummary(summarizeAb([0.9, 0.92, 0.88, 0.91, 0.93, 0.9]))).toContain(
      'the candidate is slower',
    );
  });

  it('words a ratio under its own title and verdicts', () => {
    const text = renderAbSummary(
      summarizeAb([1.04, 1.05, 1.03, 1.06, 1.02, 1.05, 1.04, 1.03]),
      'CPU',
      'cheaper',
      'dearer',
    );
    expect(text).toMatch(/^CPU: median 1\.040 ×/);
    expect(text).toContain('candidate cheaper in 8 of 8 rounds, dearer in 0');
    expect(text).toContain('the candidate is cheaper');
  });
});
