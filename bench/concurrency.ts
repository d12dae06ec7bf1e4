import { join } from 'node:path';
import { BENCH_TARGET, type BenchBroker, nodeArgs } from './broker.js';
import { CommandError, killTree, spawnTracked, tail } from './proc.js';

export interface ConcurrencyResult {
  connections: number;
  queriesPerConnection: number;
  connectErrors: number;
  queryErrors: number;
  queriesOk: number;
  /** Connections + failed queries; the target is 0. */
  errors: number;
  /** Up to five distinct error messages. */
  errorSamples: string[];
  connectMs: number;
  totalMs: number;
  /** Broker memory, kB: at rest before the run (lowest RSS over 10 s idle), while every connection was open, and the peak (VmHWM). */
  broker?: {
    rssBeforeKb: number;
    rssOpenKb: number;
    rssMaxSampledKb: number;
    /** RSS a second after every connection was closed (a leak shows here). */
    rssAfterKb: number;
    hwmBeforeKb: number;
    hwmAfterKb: number;
    /** (RSS with all connections open − RSS before) / connections. */
    growthPerConnectionKb: number;
  };
}

interface ChildReport {
  phase: string;
  open?: number;
  connectErrors: number;
  queryErrors: number;
  queriesOk: number;
  errors: string[];
  connectedMs?: number;
  totalMs?: number;
}

/** How long the broker idles before the baseline is read, and how often it is sampled meanwhile. */
const REST_MS = 10_000;
const REST_SAMPLE_MS = 250;

/**
 * The broker's memory at rest: its lowest RSS while it idles for REST_MS. After load, V8 keeps
 * the young generation it grew until its memory reducer runs, a few seconds into an idle spell
 * (RSS then drops by about 20 MB at once); a baseline read before that would hide the growth
 * the connections themselves cause, and whether it did would depend on timing.
 */
async function restingMemory(broker: BenchBroker): Promise<{ rssKb: number; hwmKb: number }> {
  let lowest = broker.memory();
  for (let waited = 0; waited < REST_MS; waited += REST_SAMPLE_MS) {
    await new Promise((r) => setTimeout(r, REST_SAMPLE_MS));
    const now = broker.memory();
    if (now.rssKb < lowest.rssKb) lowest = now;
  }
  return lowest;
}

/**
 * N concurrent `pg` connections, each running Q queries, either straight at PostgreSQL (`env`
 * points there) or through one `gatectl exec` tunnel (`broker` given): the child script opens them
 * all within the one exec, so they share a tunnel.
 */
export async function runConcurrency(options: {
  connections: number;
  queries: number;
  env: NodeJS.ProcessEnv;
  broker?: BenchBroker;
  timeoutMs: number;
}): Promise<ConcurrencyResult> {
  const childScript = [
    process.execPath,
    join(import.meta.dirname, 'concurrency-child.js'),
    String(options.connections),
    String(options.queries),
  ];
  const [command, ...args] = options.broker
    ? [
        process.execPath,
        ...nodeArgs('BENCH_CLI_NODE_ARGS'),
        options.broker.bin,
        'exec',
        BENCH_TARGET,
        '--',
        ...childScript,
      ]
    : childScript;
  const broker = options.broker;
  const before = broker ? await restingMemory(broker) : undefined;
  let rssOpenKb = Number.NaN;
  let rssMaxSampledKb = before?.rssKb ?? Number.NaN;
  const sampler = broker
    ? setInterval(() => {
        try {
          rssMaxSampledKb = Math.max(rssMaxSampledKb, broker.memory().rssKb);
        } catch {
          // broker gone: reported by the run itself
        }
      }, 100)
    : undefined;

  const child = spawnTracked(command!, args, {
    env: options.broker ? options.broker.cliEnv : options.env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let open: ChildReport | undefined;
  let done: ChildReport | undefined;
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    stderr = (stderr + d).slice(-16 * 1024);
  });
  child.stdout?.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
    let nl = stdout.indexOf('\n');
    while (nl >= 0) {
      const line = stdout.slice(0, nl);
      stdout = stdout.slice(nl + 1);
      const m = /^bench-conns (\{.*\})$/.exec(line);
      if (m) {
        const report = JSON.parse(m[1]!) as ChildReport;
        if (report.phase === 'open') {
          open = report;
          if (broker) {
            try {
              rssOpenKb = broker.memory().rssKb;
            } catch {
              // broker gone
            }
          }
          child.stdin?.write('\n');
        } else if (report.phase === 'done') done = report;
      }
      nl = stdout.indexOf('\n');
    }
  });
  child.stdin?.on('error', () => {});
  const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>(
    (resolve, reject) => {
      const timer = setTimeout(() => {
        killTree(child, 'SIGKILL');
        reject(new CommandError('timeout', `did not finish within ${options.timeoutMs} ms: ${tail(stderr)}`));
      }, options.timeoutMs);
      child.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        resolve({ code, signal });
      });
    },
  ).finally(() => clearInterval(sampler));

  const final = done ?? open;
  if (!final)
    throw new CommandError(
      'exit',
      `exit ${exit.code ?? exit.signal} without a report: ${tail(stderr || stdout)}${broker ? ` | broker: ${broker.logTail()}` : ''}`,
    );
  // Give the broker a moment to finish the sessions the child just closed.
  if (broker) await new Promise((r) => setTimeout(r, 1_000));
  const after = broker?.memory();
  const result: ConcurrencyResult = {
    connections: options.connections,
    queriesPerConnection: options.queries,
    connectErrors: final.connectErrors,
    queryErrors: final.queryErrors,
    queriesOk: final.queriesOk,
    errors: final.connectErrors + final.queryErrors,
    errorSamples: final.errors,
    connectMs: open?.connectedMs ?? Number.NaN,
    totalMs: open?.totalMs ?? Number.NaN,
  };
  // The child never got to hold its connections open: count what is missing as errors.
  if (!open) result.errors = Math.max(result.errors, options.connections);
  if (before && after) {
    result.broker = {
      rssBeforeKb: before.rssKb,
      rssOpenKb,
      rssMaxSampledKb,
      rssAfterKb: after.rssKb,
      hwmBeforeKb: before.hwmKb,
      hwmAfterKb: after.hwmKb,
      growthPerConnectionKb: (rssOpenKb - before.rssKb) / options.connections,
    };
  }
  return result;
}
