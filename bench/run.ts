import { existsSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { resolve } from 'node:path';
import { type BenchBroker, startBenchBroker } from './broker.js';
import { runConcurrency } from './concurrency.js';
import {
  benchPans,
  COPY_ROWS,
  checkCopyOutput,
  copyDirect,
  copyPsqlArgs,
  createCopyTable,
  maskedInOutput,
} from './copy.js';
import {
  autogroupEnabled,
  CpuDuringRun,
  CpuPerTransaction,
  childPids as childrenOf,
  postmasterPid,
} from './cpu.js';
import { gatectlExec, parseTimed, timedCommand } from './gatectl.js';
import {
  combineRounds,
  initPgbench,
  PGBENCH_CONFIGS,
  type PgbenchResult,
  pgbenchArgs,
  pgbenchOutcome,
  runPgbench,
} from './pgbench.js';
import { startPgbouncer } from './pgbouncer.js';
import { startBenchPostgres } from './postgres.js';
import { CommandError, type RunHooks, run, runHarness, tail, which } from './proc.js';
import { relayExecCommand, startRelayChain } from './relay.js';
import { collectFailures, evaluate, median, medianByRole, renderReport } from './report.js';
import type { BenchPath, BenchResults, Outcome, TimingSeries } from './results.types.js';

/**
 * `npm run bench`: starts a private PostgreSQL, a bare two-hop relay, pgbouncer (when installed)
 * and a real broker process, measures every path in one run, prints a table of ratios against
 * the targets and writes bench/results.json. Everything it starts is stopped at the end, on
 * failure and on Ctrl-C.
 *
 * Knobs (environment): BENCH_SECONDS (pgbench duration per row, default 10), BENCH_SCALE (pgbench
 * scale, 10), BENCH_COPY_RUNS (5), BENCH_EXEC_RUNS (15), BENCH_CONNECTIONS (500),
 * BENCH_QUERIES (20), BENCH_RESULTS (output file).
 *
 * Exit code: 0 when every row was measured (whether or not it meets its target), 1 when a row
 * failed or the harness could not start.
 */

const RESULTS_FILE = process.env.BENCH_RESULTS ?? resolve(import.meta.dirname, '../../bench/results.json');

function intEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, got "${raw}"`);
  return n;
}

const SECTIONS = ['masking', 'exec', 'concurrency', ...PGBENCH_CONFIGS.map((c) => c.name), 'copy'];

/** BENCH_ONLY=c8-simple,copy runs only those sections (for profiling one path); unset runs all. */
function onlyEnv(): string[] | null {
  const raw = process.env.BENCH_ONLY?.trim();
  if (!raw) return null;
  const names = raw.split(',').map((s) => s.trim());
  const unknown = names.filter((n) => !SECTIONS.includes(n));
  if (unknown.length > 0)
    throw new Error(`BENCH_ONLY: unknown section ${unknown.join(', ')} (known: ${SECTIONS.join(', ')})`);
  return names;
}

function progress(message: string): void {
  process.stderr.write(`bench: ${message}\n`);
}

function errorText(err: unknown): string {
  return (err as Error)?.message ?? String(err);
}

async function measure<T>(label: string, fn: () => Promise<T>): Promise<Outcome<T>> {
  try {
    const value = await fn();
    return { status: 'ok', value };
  } catch (err) {
    progress(`${label}: failed: ${errorText(err)}`);
    return { status: 'failed', error: errorText(err) };
  }
}

async function versionOf(command: string, args: string[]): Promise<string | null> {
  if (!(await which(command))) return null;
  const result = await run(command, args).catch(() => null);
  return result?.code === 0 ? (result.stdout || result.stderr).trim().split('\n')[0]! : null;
}

async function gitState(): Promise<BenchResults['git']> {
  const cwd = resolve(import.meta.dirname, '../..');
  const head = await run('git', ['rev-parse', 'HEAD'], { cwd }).catch(() => null);
  if (head?.code !== 0) return null;
  const status = await run('git', ['status', '--porcelain', '--untracked-files=no'], { cwd }).catch(
    () => null,
  );
  return { commit: head.stdout.trim(), dirty: (status?.stdout.trim() ?? '') !== '' };
}

async function main(): Promise<number> {
  const settings = {
    seconds: intEnv('BENCH_SECONDS', 10),
    scale: intEnv('BENCH_SCALE', 10),
    copyRows: COPY_ROWS,
    copyRuns: intEnv('BENCH_COPY_RUNS', 5),
    execRuns: intEnv('BENCH_EXEC_RUNS', 15),
    connections: intEnv('BENCH_CONNECTIONS', 500),
    queriesPerConnection: intEnv('BENCH_QUERIES', 20),
    rounds: intEnv('BENCH_ROUNDS', 2),
    only: onlyEnv(),
  };
  const wanted = (section: string) => settings.only === null || settings.only.includes(section);
  const startedAt = new Date().toISOString();
  for (const tool of ['pgbench', 'psql'])
    if (!(await which(tool))) throw new Error(`${tool} is required (install the PostgreSQL client tools)`);
  if (!existsSync(resolve(import.meta.dirname, '../src/cli/main.js')))
    throw new Error('the CLI is not built: run `npm run build` (npm run bench does)');

  progress('starting PostgreSQL');
  const db = await startBenchPostgres();
  const direct = db.libpqEnv();
  // PostgreSQL's backends are the postmaster's children; their CPU per transaction is reported too.
  const postmaster = postmasterPid(db.server.dataDir);
  /** A spawned process as a role's pid list, and the processes it started (none before it exists). */
  const pids = (pid: number | undefined) => (pid === undefined ? [] : [pid]);
  const startedBy = (pid: number | undefined) => (pid === undefined ? [] : childrenOf(pid));
  progress(`initialising pgbench (scale ${settings.scale}) and the ${COPY_ROWS}-row COPY table`);
  await initPgbench(settings.scale, direct);
  await createCopyTable(direct);

  progress('starting the bare two-hop relay, pgbouncer and the broker');
  const relay = await startRelayChain({ host: db.host, port: db.port });
  const relayEnv = db.libpqEnv(relay.port);
  const bouncer = await startPgbouncer(db).catch((err) => {
    progress(`pgbouncer: failed to start: ${errorText(err)}`);
    return { error: errorText(err) };
  });
  const bouncerEnv = bouncer && 'port' in bouncer ? db.libpqEnv(bouncer.port) : null;
  let broker: BenchBroker | null = null;
  let brokerError = '';
  try {
    broker = await startBenchBroker(db);
  } catch (err) {
    brokerError = `broker did not start: ${errorText(err)}`;
    progress(brokerError);
  }
  const viaGatectl = async <T>(fn: (b: BenchBroker) => Promise<T>): Promise<T> => {
    if (!broker) throw new Error(brokerError);
    try {
      return await fn(broker);
    } catch (err) {
      if (err instanceof CommandError && err.result)
        throw new Error(`${err.message}${broker ? ` | broker log: ${broker.logTail()}` : ''}`);
      throw err;
    }
  };

  // Start-up, masking and concurrency first: the exec runs warm the broker up, and its memory
  // baseline for the concurrency row is then not inflated by the buffers of the COPY runs.
  if (wanted('masking')) progress('masking check through the tunnel');
  const skipped = { status: 'skipped', reason: 'not in BENCH_ONLY' } as const;
  const maskingThroughTunnel = !wanted('masking')
    ? skipped
    : await measure('masking check', () =>
        viaGatectl(async (b) => {
          const result = await gatectlExec(b, [
            'psql',
            '-X',
            '-A',
            '-t',
            '-c',
            'select pan from payments where id = 1',
          ]);
          if (result.code !== 0)
            throw new CommandError('exit', `exit ${result.code ?? result.signal}: ${tail(result.stderr)}`, {
              result,
            });
          return maskedInOutput(result.stdout, benchPans()[1]!);
        }),
      );

  if (wanted('exec')) progress(`gatectl exec -- true × ${settings.execRuns}`);
  const execTrue = !wanted('exec')
    ? skipped
    : await measure('exec true', () =>
        viaGatectl(async (b) => {
          const runsMs: number[] = [];
          for (let i = 0; i < settings.execRuns; i++) {
            const result = await gatectlExec(b, ['true'], { timeoutMs: 60_000 });
            if (result.code !== 0)
              throw new CommandError('exit', `exit ${result.code ?? result.signal}: ${tail(result.stderr)}`, {
                result,
              });
            runsMs.push(result.wallMs);
          }
          return { runsMs, medianMs: median(runsMs) };
        }),
      );

  if (wanted('concurrency'))
    progress(
      `${settings.connections} concurrent connections × ${settings.queriesPerConnection} queries: direct`,
    );
  const concurrency: BenchResults['concurrency'] = {
    direct: !wanted('concurrency')
      ? skipped
      : await measure('concurrency direct', () =>
          runConcurrency({
            connections: settings.connections,
            queries: settings.queriesPerConnection,
            env: direct,
            timeoutMs: 300_000,
          }),
        ),
    gatectl: { status: 'skipped', reason: 'not run' },
  };
  if (wanted('concurrency'))
    progress(
      `${settings.connections} concurrent connections × ${settings.queriesPerConnection} queries: gatectl`,
    );
  concurrency.gatectl = !wanted('concurrency')
    ? skipped
    : await measure('concurrency gatectl', () =>
        viaGatectl((b) =>
          runConcurrency({
            connections: settings.connections,
            queries: settings.queriesPerConnection,
            env: direct,
            broker: b,
            timeoutMs: 300_000,
          }),
        ),
      );

  // Each path's BENCH_SECONDS are split into BENCH_ROUNDS rounds, and the paths take turns
  // round by round: on a shared machine whose speed drifts over minutes, every path then sees
  // the same conditions, and the ratios do not depend on which path happened to run last. Every
  // other round runs them in reverse order, so a drift within a round favours no path either.
  const pgbench: BenchResults['pgbench'] = {};
  const roundSeconds = Math.max(1, Math.round(settings.seconds / settings.rounds));
  for (const config of PGBENCH_CONFIGS) {
    if (!wanted(config.name)) continue;
    const rounds: Record<BenchPath, PgbenchResult[]> = {
      direct: [],
      relay: [],
      relayExec: [],
      pgbouncer: [],
      gatectl: [],
    };
    const errors: Partial<Record<BenchPath, string>> = {};
    // Each path runs pgbench with hooks that find its processes (the spawned child, and what
    // it started) and feed pgbench's progress lines to the CPU-per-transaction window.
    type PathRun = (hooks: RunHooks) => Promise<PgbenchResult>;
    // The paths a target compares run back to back: the bare relay right before gatectl (and
    // right after it in the reversed rounds), so both see the machine in the same state.
    const paths: Array<[BenchPath, PathRun, (spawned: number | undefined) => Record<string, number[]>]> = [
      [
        'direct',
        (hooks) => runPgbench(config, roundSeconds, direct, hooks),
        (pid) => ({ pgbench: pids(pid) }),
      ],
    ];
    if (bouncerEnv && bouncer && 'pid' in bouncer)
      paths.push([
        'pgbouncer',
        (hooks) => runPgbench(config, roundSeconds, bouncerEnv, hooks),
        (pid) => ({ pgbouncer: [bouncer.pid], pgbench: pids(pid) }),
      ]);
    paths.push(
      [
        'relayExec',
        async (hooks) =>
          pgbenchOutcome(
            await run(
              process.execPath,
              relayExecCommand(relay.hopB, ['pgbench', ...pgbenchArgs(config, roundSeconds)]),
              {
                env: direct,
                timeoutMs: roundSeconds * 1000 + 60_000,
                ...hooks,
              },
            ),
          ),
        (pid) => ({
          'hop A (exec)': pids(pid),
          'hop B': [relay.pids.hopB],
          pgbench: startedBy(pid),
        }),
      ],
      [
        'relay',
        (hooks) => runPgbench(config, roundSeconds, relayEnv, hooks),
        (pid) => ({ 'hop A': [relay.pids.hopA], 'hop B': [relay.pids.hopB], pgbench: pids(pid) }),
      ],
      [
        'gatectl',
        (hooks) =>
          viaGatectl(async (b) =>
            pgbenchOutcome(
              await gatectlExec(b, ['pgbench', ...pgbenchArgs(config, roundSeconds)], {
                timeoutMs: roundSeconds * 1000 + 120_000,
                ...hooks,
              }),
            ),
          ),
        (pid) => ({
          'gatectl CLI': pids(pid),
          broker: broker ? [broker.pid] : [],
          pgbench: startedBy(pid),
        }),
      ],
    );
    for (let round = 1; round <= settings.rounds; round++) {
      progress(
        `pgbench -S ${config.name}: round ${round} of ${settings.rounds} (${roundSeconds} s per path)`,
      );
      for (const [path, fn, roles] of round % 2 === 1 ? paths : [...paths].reverse()) {
        if (errors[path]) continue;
        let spawned: number | undefined;
        const cpu = new CpuPerTransaction(() => ({
          ...roles(spawned),
          postgres: postmaster === null ? [] : childrenOf(postmaster),
        }));
        const hooks: RunHooks = {
          onSpawn: (child) => {
            spawned = child.pid;
          },
          onStderrLine: (line) => cpu.line(line),
        };
        const outcome = await measure(`${config.name} ${path}`, () => fn(hooks));
        if (outcome.status === 'ok') {
          const cpuUsPerTx = cpu.result();
          rounds[path].push(cpuUsPerTx ? { ...outcome.value, cpuUsPerTx } : outcome.value);
        } else if (outcome.status === 'failed') errors[path] = outcome.error;
      }
    }
    const row = {} as Record<BenchPath, Outcome<PgbenchResult>>;
    for (const [path] of paths)
      row[path] = errors[path]
        ? { status: 'failed', error: errors[path]! }
        : { status: 'ok', value: combineRounds(rounds[path]) };
    if (!bouncerEnv)
      row.pgbouncer =
        bouncer && 'error' in bouncer
          ? { status: 'failed', error: bouncer.error }
          : { status: 'skipped', reason: 'not installed' };
    pgbench[config.name] = row;
  }

  if (wanted('copy'))
    progress(`COPY ${COPY_ROWS} rows × ${settings.copyRuns}: direct, bare relay, gatectl exec`);
  type CopyPath = 'direct' | 'relay' | 'gatectl';
  const copyRuns: Record<CopyPath, number[]> = { direct: [], relay: [], gatectl: [] };
  // CPU time per run of each process on the path, in ms: where the time beside PostgreSQL goes.
  const copyCpu: Record<CopyPath, Array<Record<string, number | null>>> = {
    direct: [],
    relay: [],
    gatectl: [],
  };
  const copyErrors: Partial<Record<CopyPath, string>> = {};
  for (let i = 0; i < (wanted('copy') ? settings.copyRuns : 0); i++) {
    const attempt = async (
      path: CopyPath,
      steady: Record<string, number>,
      fn: (cpu: CpuDuringRun) => Promise<number>,
    ) => {
      if (copyErrors[path]) return;
      const cpu = new CpuDuringRun(steady);
      const outcome = await measure(`copy ${path}`, () => fn(cpu)).finally(() =>
        copyCpu[path].push(cpu.finish()),
      );
      if (outcome.status === 'ok') copyRuns[path].push(outcome.value);
      else if (outcome.status === 'failed') copyErrors[path] = outcome.error;
    };
    const runs: Array<[CopyPath, Record<string, number>, (cpu: CpuDuringRun) => Promise<number>]> = [
      ['direct', {}, (cpu) => copyDirect(direct, { onSpawn: (c) => cpu.track('psql', c.pid) })],
      [
        'relay',
        { 'hop A': relay.pids.hopA, 'hop B': relay.pids.hopB },
        (cpu) => copyDirect(relayEnv, { onSpawn: (c) => cpu.track('psql', c.pid) }),
      ],
      [
        'gatectl',
        broker ? { broker: broker.pid } : {},
        (cpu) =>
          viaGatectl(async (b) => {
            const result = await gatectlExec(b, timedCommand(['psql', ...copyPsqlArgs()]), {
              timeoutMs: 600_000,
              onSpawn: (c) => cpu.track('gatectl CLI', c.pid),
            });
            checkCopyOutput(result);
            const timed = parseTimed(result.stdout);
            if (!timed)
              throw new Error(`no timing from the wrapped psql: ${tail(result.stdout || result.stderr)}`);
            return timed.wallMs;
          }),
      ],
    ];
    // As with pgbench, every other run goes the other way round, so no path always runs last.
    for (const [path, steady, fn] of i % 2 === 0 ? runs : [...runs].reverse())
      await attempt(path, steady, fn);
  }
  const series = (path: CopyPath): Outcome<TimingSeries> =>
    !wanted('copy')
      ? skipped
      : copyErrors[path]
        ? { status: 'failed', error: copyErrors[path]! }
        : {
            status: 'ok',
            value: {
              runsMs: copyRuns[path],
              medianMs: median(copyRuns[path]),
              cpuMs: medianByRole(copyCpu[path]),
            },
          };
  const copy = { direct: series('direct'), relay: series('relay'), gatectl: series('gatectl') };

  const raw = {
    version: 1 as const,
    startedAt,
    finishedAt: new Date().toISOString(),
    machine: {
      cpus: cpus().length,
      loadAverage: loadavg(),
      autogroup: autogroupEnabled(),
      node: process.version,
      pgbench: await versionOf('pgbench', ['--version']),
      postgres: (await db.server.query('select version()')).rows[0]?.version ?? null,
      pgbouncer: await versionOf('pgbouncer', ['--version']),
    },
    git: await gitState(),
    brokerTarget: broker?.target ?? null,
    settings,
    pgbench,
    copy,
    execTrue,
    maskingThroughTunnel,
    concurrency,
  };
  const results: BenchResults = { ...raw, ...evaluate(raw) };
  writeFileSync(RESULTS_FILE, `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write(renderReport(results));
  progress(`results written to ${RESULTS_FILE}`);
  // A target that is missed is a result; a row that could not be measured is a failed run.
  return collectFailures(results).length > 0 ? 1 : 0;
}

runHarness(main, progress);
