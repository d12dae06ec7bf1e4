import { join } from 'node:path';
import { BENCH_TARGET, type BenchBroker, nodeArgs } from './broker.js';
import { type RunHooks, type RunResult, run } from './proc.js';

/** `gatectl exec bench-db -- <command…>` with the real CLI against the bench broker. */
export function gatectlExec(
  broker: BenchBroker,
  command: string[],
  options: { timeoutMs?: number } & RunHooks = {},
): Promise<RunResult> {
  return run(
    process.execPath,
    [...nodeArgs('BENCH_CLI_NODE_ARGS'), broker.bin, 'exec', BENCH_TARGET, '--', ...command],
    {
      env: broker.cliEnv,
      timeoutMs: options.timeoutMs ?? 120_000,
      onSpawn: options.onSpawn,
      onStderrLine: options.onStderrLine,
    },
  );
}

/** The wall-clock wrapper (bench/timed.ts) as a command line, for timing a child inside `gatectl exec`. */
export function timedCommand(command: string[]): string[] {
  return [process.execPath, join(import.meta.dirname, 'timed.js'), ...command];
}

/** Reads the `bench-timed {…}` line timed.js prints. */
export function parseTimed(stdout: string): { wallMs: number; code: number | null } | null {
  const m = /^bench-timed (\{.*\})$/m.exec(stdout);
  if (!m) return null;
  return JSON.parse(m[1]!) as { wallMs: number; code: number | null };
}
