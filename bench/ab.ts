import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { renderAbSummary, summarizeAb } from './ab-stats.js';
import type { BenchBroker } from './broker.js';
import { startBenchBroker } from './broker.js';
import { COPY_ROWS, checkCopyOutput, copyPsqlArgs, createCopyTable } from './copy.js';
import { CpuDuringRun, CpuPerTransaction } from './cpu.js';
import { gatectlExec } from './gatectl.js';
import { initPgbench, pgbenchOutcome } from './pgbench.js';
import { startBenchPostgres } from './postgres.js';
import { onTeardownSync, type RunResult, removeDirOnTeardown, run, runChecked, runHarness } from './proc.js';

/**
 * `npm run bench:ab -- <git ref>`: is the working tree faster than <ref>? Builds <ref> in a
 * temporary worktree, starts one PostgreSQL and a broker from each tree (this harness runs
 * both; <ref> only provides its `gatectl`, whose config and store must be this tree's), and runs
 * `gatectl exec -- pgbench -S` through each, the CLI of the same tree as the broker, in turn, alternating which goes first, for a number
 * of rounds. Each round gives one ratio (working tree tps / <ref> tps); the summary is their
 * median and a sign test. On a shared 2-core machine the throughput of one path drifts by ±15 %
 * within minutes, so two trees measured back to back in short interleaved rounds are compared,
 * not two `npm run bench` runs.
 *
 * Options: --workload pgbench|copy (pgbench; copy times the bench's COPY of two million rows
 * instead), --rounds (10), --seconds per pgbench run (5), --mode simple|extended|prepared
 * (simple), --clients (8; threads are 2 above one client).
 */

const ROOT = resolve(import.meta.dirname, '../..');

function progress(message: string): void {
  process.stderr.write(`bench:ab: ${message}\n`);
}

function positive(name: string, raw: string): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got "${raw}"`);
  return n;
}

/** Checks out and compiles `ref` beside this tree; removed again at teardown. */
async function buildBaseline(ref: string): Promise<string> {
  const commit = await run('git', ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`], { cwd: ROOT });
  if (commit.code !== 0) throw new Error(`"${ref}" is not a commit of this repository`);
  const parent = mkdtempSync(join(tmpdir(), 'gatectl-ab-'));
  removeDirOnTeardown(parent);
  const dir = join(parent, 'tree');
  await runChecked('git', ['worktree', 'add', '--detach', dir, commit.stdout.trim()], { cwd: ROOT });
  // Synchronous: teardown runs when the harness no longer starts children of its own.
  onTeardownSync(`worktree ${dir}`, () => {
    execFileSync('git', ['worktree', 'remove', '--force', dir], { cwd: ROOT, stdio: 'ignore' });
  });
  // The dependencies are this tree's: a change of dependencies is not what this compares.
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  progress(`building ${ref} (${commit.stdout.trim().slice(0, 12)}) in ${dir}`);
  await runChecked(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], {
    cwd: dir,
    timeoutMs: 300_000,
  });
  const bin = join(dir, 'bin/gatectl');
  if (!existsSync(join(dir, 'dist/src/cli/main.js'))) throw new Error(`${ref} did not build a gatectl CLI`);
  return bin;
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      rounds: { type: 'string', default: '10' },
      seconds: { type: 'string', default: '5' },
      mode: { type: 'string', default: 'simple' },
      clients: { type: 'string', default: '8' },
      workload: { type: 'string', default: 'pgbench' },
    },
  });
  const [ref, ...extra] = positionals;
  if (!ref || extra.length > 0)
    throw new Error(
      'usage: npm run bench:ab -- <git ref> [--workload pgbench|copy] [--rounds N] [--seconds S] [--mode simple|extended|prepared] [--clients N]',
    );
  const workload = values.workload;
  if (workload !== 'pgbench' && workload !== 'copy')
    throw new Error(`--workload must be pgbench or copy, got "${workload}"`);
  if (!['simple', 'extended', 'prepared'].includes(values.mode))
    throw new Error(`--mode must be simple, extended or prepared, got "${values.mode}"`);
  const rounds = positive('rounds', values.rounds);
  const seconds = positive('seconds', values.seconds);
  const clients = positive('clients', values.clients);

  const baseline = await buildBaseline(ref);
  progress('starting PostgreSQL and a broker from each tree');
  const db = await startBenchPostgres();
  if (workload === 'copy') await createCopyTable(db.libpqEnv());
  else await initPgbench(10, db.libpqEnv());
  const brokers: Record<'baseline' | 'candidate', BenchBroker> = {
    baseline: await startBenchBroker(db, baseline),
    candidate: await startBenchBroker(db),
  };
  const pgbench = (s: number) => [
    'pgbench',
    '-n',
    '-S',
    '-M',
    values.mode,
    '-c',
    String(clients),
    '-j',
    String(clients > 1 ? 2 : 1),
    '-T',
    String(s),
    '-P',
    '1',
  ];
  /**
   * One run through a tree: `score` is higher when faster (tps; 1 / wall time for COPY), and
   * `cpuUs` the CPU time the broker and the CLI spent on it (per transaction for pgbench).
   */
  type Run = { score: number; text: string; cpuUs: number | null };
  const pgbenchRun = async (which: keyof typeof brokers, s: number): Promise<Run> => {
    let cli: number | undefined;
    const cpu = new CpuPerTransaction(() => ({
      gatectl: [brokers[which].pid, ...(cli === undefined ? [] : [cli])],
    }));
    const result = await gatectlExec(brokers[which], pgbench(s), {
      timeoutMs: s * 1000 + 60_000,
      onSpawn: (child) => {
        cli = child.pid;
      },
      onStderrLine: (line) => cpu.line(line),
    });
    const tps = pgbenchOutcome(result).tps;
    return { score: tps, text: `${tps.toFixed(0)} tps`, cpuUs: cpu.result()?.gatectl ?? null };
  };
  const copyRun = async (which: keyof typeof brokers): Promise<Run> => {
    const broker = brokers[which];
    const cpu = new CpuDuringRun({ broker: broker.pid });
    let result: RunResult;
    let cpuMs: Record<string, number | null>;
    try {
      result = await gatectlExec(broker, ['psql', ...copyPsqlArgs()], {
        timeoutMs: 600_000,
        onSpawn: (child) => cpu.track('cli', child.pid),
      });
    } finally {
      cpuMs = cpu.finish();
    }
    checkCopyOutput(result);
    const cpuUs =
      cpuMs.broker === null || cpuMs.broker === undefined || cpuMs.cli === null || cpuMs.cli === undefined
        ? null
        : (cpuMs.broker + cpuMs.cli) * 1000;
    return { score: 1000 / result.wallMs, text: `${(result.wallMs / 1000).toFixed(2)} s`, cpuUs };
  };
  const measure = (which: keyof typeof brokers, s: number): Promise<Run> =>
    workload === 'copy' ? copyRun(which) : pgbenchRun(which, s);
  // How CPU is shown: per COPY in ms, per transaction in µs.
  const cpuShown =
    workload === 'copy'
      ? { per: 'per COPY', unit: 'ms', text: (us: number) => (us / 1000).toFixed(0) }
      : { per: 'per transaction', unit: 'µs', text: (us: number) => us.toFixed(1) };

  // The first runs compile the hot paths of each broker and CLI; they are not counted.
  await measure('baseline', 2);
  await measure('candidate', 2);
  // Each round's ratio is candidate / baseline speed: above 1 the candidate is faster.
  const ratios: number[] = [];
  // Broker and CLI CPU, baseline / candidate: above 1 the candidate is cheaper.
  const cpuRatios: number[] = [];
  process.stdout.write(
    workload === 'copy'
      ? `COPY of ${COPY_ROWS} rows through gatectl exec: ${ref} (baseline) vs working tree (candidate)\n`
      : `pgbench -S -M ${values.mode} -c ${clients}, ${seconds} s per run: ${ref} (baseline) vs working tree (candidate)\n`,
  );
  for (let i = 0; i < rounds; i++) {
    // Which tree runs first alternates, so a drift of the machine within a round favours neither.
    const order: Array<keyof typeof brokers> =
      i % 2 === 0 ? ['baseline', 'candidate'] : ['candidate', 'baseline'];
    const m: Partial<Record<keyof typeof brokers, Run>> = {};
    for (const which of order) m[which] = await measure(which, seconds);
    const base = m.baseline!;
    const cand = m.candidate!;
    const ratio = cand.score / base.score;
    ratios.push(ratio);
    let cpu = '';
    if (base.cpuUs !== null && cand.cpuUs !== null) {
      cpuRatios.push(base.cpuUs / cand.cpuUs);
      cpu = `; broker + CLI CPU ${cpuShown.text(base.cpuUs)} / ${cpuShown.text(cand.cpuUs)} ${cpuShown.unit} ${cpuShown.per}`;
    }
    process.stdout.write(
      `round ${i + 1}: baseline ${base.text}, candidate ${cand.text}, ${ratio.toFixed(3)} ×${cpu}\n`,
    );
  }
  process.stdout.write(`${renderAbSummary(summarizeAb(ratios))}\n`);
  if (cpuRatios.length > 0)
    process.stdout.write(
      `${renderAbSummary(summarizeAb(cpuRatios), `CPU ${cpuShown.per}, baseline / candidate (above 1: the candidate is cheaper)`, 'cheaper', 'dearer')}\n`,
    );
  return 0;
}

runHarness(main, progress);
