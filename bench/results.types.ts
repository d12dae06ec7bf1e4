import type { ConcurrencyResult } from './concurrency.js';
import type { PgbenchResult } from './pgbench.js';

/** A measurement that ran, failed (with the error it failed with), or was skipped (and why). */
export type Outcome<T> =
  | { status: 'ok'; value: T }
  | { status: 'failed'; error: string }
  | { status: 'skipped'; reason: string };

export const PATHS = ['direct', 'relay', 'relayExec', 'pgbouncer', 'gatectl'] as const;
export type BenchPath = (typeof PATHS)[number];

export const PATH_LABELS: Record<BenchPath, string> = {
  direct: 'direct',
  relay: 'bare 2-hop relay',
  relayExec: 'relay, exec-shaped',
  pgbouncer: 'pgbouncer',
  gatectl: 'gatectl exec',
};

export interface TimingSeries {
  runsMs: number[];
  medianMs: number;
  /** CPU time of each process of the path per run, in ms, the median over the runs (COPY only). */
  cpuMs?: Record<string, number | null>;
}

export interface TargetCheck {
  id: string;
  description: string;
  /** The measured value, in `unit`; null when it could not be computed. */
  value: number | null;
  unit: string;
  /** e.g. ">= 0.90" */
  target: string;
  pass: boolean | null;
  /** Why there is no value, or how it was computed. */
  note: string;
}

export interface BenchResults {
  version: 1;
  startedAt: string;
  finishedAt: string;
  machine: {
    cpus: number;
    loadAverage: number[];
    /** Linux autogroup (one CPU share per session) on; null where the kernel does not say. */
    autogroup: boolean | null;
    node: string;
    pgbench: string | null;
    postgres: string | null;
    pgbouncer: string | null;
  };
  /** The checkout measured: commit and whether the work tree had changes (null outside git). */
  git: { commit: string; dirty: boolean } | null;
  /** What the gatectl path enforced while measured. */
  brokerTarget: { statementRules: number; masking: string; recording: string } | null;
  settings: {
    /** pgbench seconds per row and path, split into `rounds` rounds the paths take in turn. */
    seconds: number;
    rounds: number;
    scale: number;
    copyRows: number;
    copyRuns: number;
    execRuns: number;
    connections: number;
    queriesPerConnection: number;
    /** The sections BENCH_ONLY selected; null when every section ran. */
    only: string[] | null;
  };
  /** Keyed by pgbench configuration (c1-simple, …), then by path. */
  pgbench: Record<string, Record<BenchPath, Outcome<PgbenchResult>>>;
  copy: Record<'direct' | 'relay' | 'gatectl', Outcome<TimingSeries>>;
  execTrue: Outcome<TimingSeries>;
  /** Whether a card number read through the tunnel arrived masked (informational). */
  maskingThroughTunnel: Outcome<boolean>;
  concurrency: { direct: Outcome<ConcurrencyResult>; gatectl: Outcome<ConcurrencyResult> };
  /** Ratios against the targets. */
  targets: TargetCheck[];
  /** Informational ratios that have no target. */
  ratios: Array<{ id: string; description: string; value: number | null }>;
}
