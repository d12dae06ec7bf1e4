import { describe, expect, it } from 'vitest';
import { CpuPerTransaction, parseProcStat, parseProgress, perTransaction, postmasterPid } from './cpu.js';
import { averageCpu, combineRounds } from './pgbench.js';
import { evaluate, renderReport } from './report.js';
import type { BenchResults } from './results.types.js';

describe('CPU per transaction', () => {
  it('reads /proc/<pid>/stat even when the command name holds spaces and parentheses', () => {
    const line = '4242 (node (relay) x) S 17 4242 17 0 -1 4194304 9 0 0 0 1234 567 0 0 20 0 11 0 99 1 2 3';
    expect(parseProcStat(line)).toEqual({ comm: 'node (relay) x', ppid: 17, utime: 1234, stime: 567 });
    expect(parseProcStat('garbage')).toBeNull();
  });

  it('reads pgbench progress lines and nothing else', () => {
    expect(parseProgress('progress: 3.0 s, 15234.1 tps, lat 0.523 ms stddev 0.101, 0 failed')).toEqual({
      atSeconds: 3,
      tps: 15234.1,
    });
    expect(parseProgress('pgbench (15.19)')).toBeNull();
  });

  it('divides each process’s CPU in the window by the transactions pgbench reported for it', () => {
    const r = perTransaction([
      { atSeconds: 1, transactions: 1000, cpuUs: { a: { 1: 500_000 }, b: { 2: 10, 3: 0 }, none: {} } },
      {
        atSeconds: 2,
        transactions: 11_000,
        cpuUs: { a: { 1: 700_000 }, b: { 2: 10_010, 3: 5000 }, none: {} },
      },
      // Process 3 exited with pgbench's last line: b is read up to the snapshot before.
      { atSeconds: 3, transactions: 21_000, cpuUs: { a: { 1: 900_000 }, b: { 2: 20_010 }, none: {} } },
    ]);
    expect(r).toEqual({ a: 20, b: 1.5, none: null });
    expect(perTransaction([{ atSeconds: 1, transactions: 10, cpuUs: { a: { 1: 1 } } }])).toBeNull();
  });

  it('measures a real process between progress lines', async () => {
    const cpu = new CpuPerTransaction(() => ({ self: [process.pid], missing: [] }));
    cpu.line('progress: 1.0 s, 100.0 tps, lat 1 ms stddev 0, 0 failed');
    // Burn at least 50 ms of CPU (the kernel counts in 10 ms ticks).
    const until = process.cpuUsage().user + 60_000;
    let x = 0;
    while (process.cpuUsage().user < until) x += Math.sqrt(x + 1);
    cpu.line('not a progress line');
    cpu.line('progress: 2.0 s, 1000.0 tps, lat 1 ms stddev 0, 0 failed');
    const r = cpu.result()!;
    // 1000 transactions in the window, ≥ 50 ms of CPU: ≥ 50 µs each.
    expect(r.self).toBeGreaterThanOrEqual(40);
    expect(r.missing).toBeNull();
    expect(x).toBeGreaterThan(0);
  });

  it('finds no postmaster in a directory without one', () => {
    expect(postmasterPid('/nonexistent')).toBeNull();
  });

  it('averages rounds per process and shows the table in the report', () => {
    expect(averageCpu([{ a: 10, b: null }, undefined, { a: 20, b: 4 }])).toEqual({ a: 15, b: 4 });
    expect(averageCpu([undefined])).toBeUndefined();
    const combined = combineRounds([
      { tps: 100, latencyMs: 1, transactions: 500, failed: 0, cpuUsPerTx: { broker: 30 } },
      { tps: 100, latencyMs: 1, transactions: 500, failed: 0, cpuUsPerTx: { broker: 40 } },
    ]);
    expect(combined.cpuUsPerTx).toEqual({ broker: 35 });
    const raw = {
      version: 1,
      startedAt: '',
      finishedAt: '',
      machine: {
        cpus: 2,
        loadAverage: [0, 0, 0],
        autogroup: null,
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
        scale: 2,
        copyRows: 1,
        copyRuns: 1,
        execRuns: 1,
        connections: 1,
        queriesPerConnection: 1,
        only: null,
      },
      pgbench: {
        'c8-simple': {
          direct: { status: 'skipped', reason: 'x' },
          relay: {
            status: 'ok',
            value: { ...combined, cpuUsPerTx: { 'hop A': 18, 'hop B': 16.5, postgres: 40 } },
          },
          relayExec: { status: 'skipped', reason: 'x' },
          pgbouncer: { status: 'skipped', reason: 'x' },
          gatectl: { status: 'ok', value: { ...combined, cpuUsPerTx: { broker: 28, postgres: null } } },
        },
      },
      copy: {
        direct: { status: 'skipped', reason: 'x' },
        relay: { status: 'skipped', reason: 'x' },
        gatectl: { status: 'skipped', reason: 'x' },
      },
      execTrue: { status: 'skipped', reason: 'x' },
      maskingThroughTunnel: { status: 'skipped', reason: 'x' },
      concurrency: {
        direct: { status: 'skipped', reason: 'x' },
        gatectl: { status: 'skipped', reason: 'x' },
      },
    } satisfies Omit<BenchResults, 'targets' | 'ratios'>;
    const text = renderReport({ ...raw, ...evaluate(raw) });
    expect(text).toMatch(/CPU per transaction/);
    expect(text).toMatch(/c8-simple\s+bare 2-hop relay\s+hop A 18\.0 · hop B 16\.5 · postgres 40\.0\s+74\.5/);
    expect(text).toMatch(/c8-simple\s+gatectl exec\s+broker 28\.0 · postgres —\s+—/);
  });
});
