import { CommandError, type RunHooks, type RunResult, run, tail } from './proc.js';

export const PGBENCH_CONFIGS = [
  { name: 'c1-simple', clients: 1, threads: 1, mode: 'simple' },
  { name: 'c1-extended', clients: 1, threads: 1, mode: 'extended' },
  { name: 'c8-simple', clients: 8, threads: 2, mode: 'simple' },
  { name: 'c8-extended', clients: 8, threads: 2, mode: 'extended' },
] as const;
export type PgbenchConfig = (typeof PGBENCH_CONFIGS)[number];

export interface PgbenchResult {
  tps: number;
  /** pgbench's "latency average", in milliseconds. */
  latencyMs: number;
  transactions: number;
  failed: number;
  /** With several rounds: each round's tps, in order. */
  roundsTps?: number[];
  /**
   * CPU time (user + system) per transaction of each process on the path, in microseconds, in
   * the steady-state window of the run (bench/cpu.ts); averaged over rounds. Absent when not
   * measured; a role is null when its process could not be read.
   */
  cpuUsPerTx?: Record<string, number | null>;
}

/**
 * One result from the rounds of a path: transactions over the time they took (each round's
 * time is its transactions / tps, pgbench's own measure without connection set-up), latency
 * averaged over transactions.
 */
export function combineRounds(rounds: PgbenchResult[]): PgbenchResult {
  if (rounds.length === 1) return rounds[0]!;
  let transactions = 0;
  let seconds = 0;
  let latencyTotal = 0;
  let failed = 0;
  for (const r of rounds) {
    transactions += r.transactions;
    seconds += r.transactions / r.tps;
    latencyTotal += r.latencyMs * r.transactions;
    failed += r.failed;
  }
  const cpuUsPerTx = averageCpu(rounds.map((r) => r.cpuUsPerTx));
  return {
    tps: transactions / seconds,
    latencyMs: latencyTotal / transactions,
    transactions,
    failed,
    roundsTps: rounds.map((r) => r.tps),
    ...(cpuUsPerTx ? { cpuUsPerTx } : {}),
  };
}

/** Per role, the mean over the rounds that measured it (null when none did). */
export function averageCpu(
  rounds: Array<Record<string, number | null> | undefined>,
): Record<string, number | null> | undefined {
  const measured = rounds.filter((r): r is Record<string, number | null> => r !== undefined);
  if (measured.length === 0) return undefined;
  const out: Record<string, number | null> = {};
  for (const role of new Set(measured.flatMap((r) => Object.keys(r)))) {
    const values = measured.map((r) => r[role]).filter((v): v is number => typeof v === 'number');
    out[role] = values.length > 0 ? values.reduce((a, b) => a + b, 0) / values.length : null;
  }
  return out;
}

/** The select-only run's arguments (the connection comes from PG* variables). */
export function pgbenchArgs(config: PgbenchConfig, seconds: number): string[] {
  return [
    '-n', // no vacuum: tables were vacuumed after -i, and the tunnelled role may not own them
    '-S',
    '-M',
    config.mode,
    '-c',
    String(config.clients),
    '-j',
    String(config.threads),
    '-T',
    String(seconds),
    // A progress line each second on stderr: the CPU-per-transaction window is read from them.
    '-P',
    '1',
  ];
}

/**
 * Reads pgbench's summary. Version 15 prints e.g.
 *   number of transactions actually processed: 81234
 *   number of failed transactions: 0 (0.000%)
 *   latency average = 0.123 ms
 *   tps = 8123.456789 (without initial connection time)
 */
export function parsePgbench(output: string): PgbenchResult {
  const num = (re: RegExp) => {
    const m = re.exec(output);
    return m ? Number(m[1]) : Number.NaN;
  };
  const tps = num(/^tps = ([\d.]+)/m);
  const latencyMs = num(/^latency average = ([\d.]+) ms/m);
  const transactions = num(/^number of transactions actually processed: (\d+)/m);
  const failedMatch = /^number of failed transactions: (\d+)/m.exec(output);
  if (!Number.isFinite(tps) || !Number.isFinite(latencyMs) || !Number.isFinite(transactions))
    throw new CommandError('parse', `cannot read pgbench output: ${tail(output, 4)}`);
  return { tps, latencyMs, transactions, failed: failedMatch ? Number(failedMatch[1]) : 0 };
}

/** Interprets a finished pgbench (direct or wrapped by `gatectl exec`) into a result, or throws. */
export function pgbenchOutcome(result: RunResult): PgbenchResult {
  if (result.code !== 0)
    throw new CommandError(
      'exit',
      `exit ${result.code ?? result.signal}: ${tail(result.stderr || result.stdout)}`,
      {
        result,
      },
    );
  const parsed = parsePgbench(result.stdout);
  if (parsed.failed > 0 || parsed.transactions === 0)
    throw new CommandError('failed', `${parsed.failed} failed of ${parsed.transactions} transactions`, {
      result,
    });
  return parsed;
}

/** Runs pgbench directly against whatever the PG* variables in `env` point at. */
export async function runPgbench(
  config: PgbenchConfig,
  seconds: number,
  env: NodeJS.ProcessEnv,
  hooks: RunHooks = {},
): Promise<PgbenchResult> {
  const result = await run('pgbench', pgbenchArgs(config, seconds), {
    env,
    timeoutMs: seconds * 1000 + 60_000,
    ...hooks,
  });
  return pgbenchOutcome(result);
}

/** `pgbench -i` into the benchmark database, then VACUUM ANALYZE. */
export async function initPgbench(scale: number, env: NodeJS.ProcessEnv): Promise<void> {
  const init = await run('pgbench', ['-i', '-q', '-s', String(scale)], { env, timeoutMs: 600_000 });
  if (init.code !== 0)
    throw new CommandError('exit', `pgbench -i failed: ${tail(init.stderr)}`, { result: init });
  const vacuum = await run('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-c', 'vacuum analyze'], {
    env,
    timeoutMs: 300_000,
  });
  if (vacuum.code !== 0)
    throw new CommandError('exit', `vacuum failed: ${tail(vacuum.stderr)}`, { result: vacuum });
}
