import type { PgbenchResult } from './pgbench.js';
import { PGBENCH_CONFIGS } from './pgbench.js';
import {
  type BenchPath,
  type BenchResults,
  type Outcome,
  PATH_LABELS,
  PATHS,
  type TargetCheck,
  type TimingSeries,
} from './results.types.js';

export function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Per role, the median of the runs that read it (null when none did). */
export function medianByRole(
  runs: ReadonlyArray<Record<string, number | null>>,
): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  for (const role of new Set(runs.flatMap((r) => Object.keys(r)))) {
    const values = runs.map((r) => r[role]).filter((v): v is number => typeof v === 'number');
    out[role] = values.length > 0 ? median(values) : null;
  }
  return out;
}

function okValue<T>(outcome: Outcome<T> | undefined): T | null {
  return outcome?.status === 'ok' ? outcome.value : null;
}

function whyMissing(...outcomes: Array<Outcome<unknown> | undefined>): string {
  for (const o of outcomes) {
    if (!o) return 'not measured';
    if (o.status === 'failed') return `failed: ${o.error}`;
    if (o.status === 'skipped') return `skipped: ${o.reason}`;
  }
  return '';
}

/** Computes the target checks and informational ratios from the raw measurements. */
export function evaluate(
  results: Omit<BenchResults, 'targets' | 'ratios'>,
): Pick<BenchResults, 'targets' | 'ratios'> {
  const targets: TargetCheck[] = [];
  const ratios: BenchResults['ratios'] = [];
  const pg = (config: string, path: BenchPath) => results.pgbench[config]?.[path];

  for (const mode of ['simple', 'extended'] as const) {
    const config = `c8-${mode}`;
    const g = okValue<PgbenchResult>(pg(config, 'gatectl'));
    const r = okValue<PgbenchResult>(pg(config, 'relay'));
    const value = g && r ? g.tps / r.tps : null;
    targets.push({
      id: `tps-vs-relay-${config}`,
      description: `pgbench -S -c 8 -j 2 -M ${mode}: gatectl tps / bare relay tps`,
      value,
      unit: '×',
      target: '>= 0.90',
      pass: value === null ? null : value >= 0.9,
      note: value === null ? whyMissing(pg(config, 'gatectl'), pg(config, 'relay')) : roundRatios(g!, r!),
    });
  }
  for (const mode of ['simple', 'extended'] as const) {
    const config = `c1-${mode}`;
    const g = okValue<PgbenchResult>(pg(config, 'gatectl'));
    const d = okValue<PgbenchResult>(pg(config, 'direct'));
    const value = g && d ? g.latencyMs - d.latencyMs : null;
    const byTps = g && d ? 1000 / g.tps - 1000 / d.tps : null;
    targets.push({
      id: `latency-added-${config}`,
      description: `pgbench -S -c 1 -M ${mode}: latency added over direct (pgbench latency average)`,
      value,
      unit: 'ms',
      target: '<= 0.30',
      pass: value === null ? null : value <= 0.3,
      note:
        value === null
          ? whyMissing(pg(config, 'gatectl'), pg(config, 'direct'))
          : `1000/tps difference: ${byTps!.toFixed(3)} ms`,
    });
  }
  {
    const g = okValue<TimingSeries>(results.copy.gatectl);
    const d = okValue<TimingSeries>(results.copy.direct);
    const value = g && d ? g.medianMs / d.medianMs : null;
    targets.push({
      id: 'copy-vs-direct',
      description: `COPY of ${results.settings.copyRows} rows with card numbers: gatectl / direct wall time (medians)`,
      value,
      unit: '×',
      target: '<= 1.10',
      pass: value === null ? null : value <= 1.1,
      note: value === null ? whyMissing(results.copy.gatectl, results.copy.direct) : '',
    });
  }
  {
    const e = okValue<TimingSeries>(results.execTrue);
    targets.push({
      id: 'exec-true-median',
      description: `gatectl exec <target> -- true: median wall time of ${results.settings.execRuns} runs`,
      value: e ? e.medianMs : null,
      unit: 'ms',
      target: '<= 400',
      pass: e ? e.medianMs <= 400 : null,
      note: e ? '' : whyMissing(results.execTrue),
    });
  }
  {
    const c = okValue(results.concurrency.gatectl);
    const n = results.settings.connections;
    targets.push({
      id: 'concurrency-errors',
      description: `${n} concurrent connections through one tunnel × ${results.settings.queriesPerConnection} queries: errors`,
      value: c ? c.errors : null,
      unit: 'errors',
      target: '= 0',
      pass: c ? c.errors === 0 : null,
      note: c ? (c.errorSamples[0] ?? '') : whyMissing(results.concurrency.gatectl),
    });
    const growth = c?.broker?.growthPerConnectionKb;
    const ok = growth !== undefined && Number.isFinite(growth);
    targets.push({
      id: 'concurrency-memory',
      description: `broker RSS growth per connection with ${n} open`,
      value: ok ? growth : null,
      unit: 'KB/conn',
      target: '<= 100',
      pass: ok ? growth <= 100 : null,
      note: ok
        ? `RSS ${c!.broker!.rssBeforeKb} → ${c!.broker!.rssOpenKb} kB with all open, ${c!.broker!.rssAfterKb} kB after closing, HWM ${c!.broker!.hwmAfterKb} kB`
        : c
          ? 'broker memory was not sampled while the connections were open'
          : whyMissing(results.concurrency.gatectl),
    });
  }

  for (const config of PGBENCH_CONFIGS) {
    const d = okValue<PgbenchResult>(pg(config.name, 'direct'));
    for (const path of ['relay', 'relayExec', 'pgbouncer', 'gatectl'] as const) {
      const p = okValue<PgbenchResult>(pg(config.name, path));
      ratios.push({
        id: `tps-${path}-vs-direct-${config.name}`,
        description: `pgbench ${config.name}: ${PATH_LABELS[path]} tps / direct tps`,
        value: p && d ? p.tps / d.tps : null,
      });
    }
  }
  // The target compares with the standalone relay; this shows how much of the gap is the shape
  // of `gatectl exec` (a fresh first hop sharing the client's session) rather than its work.
  for (const mode of ['simple', 'extended'] as const) {
    const config = `c8-${mode}`;
    const g = okValue<PgbenchResult>(pg(config, 'gatectl'));
    const r = okValue<PgbenchResult>(pg(config, 'relayExec'));
    ratios.push({
      id: `tps-gatectl-vs-relay-exec-${config}`,
      description: `pgbench ${config}: gatectl exec tps / exec-shaped relay tps`,
      value: g && r ? g.tps / r.tps : null,
    });
  }
  {
    const r = okValue<TimingSeries>(results.copy.relay);
    const d = okValue<TimingSeries>(results.copy.direct);
    ratios.push({
      id: 'copy-relay-vs-direct',
      description: 'COPY: bare relay / direct wall time',
      value: r && d ? r.medianMs / d.medianMs : null,
    });
  }
  return { targets, ratios };
}

function fmt(n: number | null | undefined, digits = 2): string {
  return n === null || n === undefined || !Number.isFinite(n) ? '—' : n.toFixed(digits);
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows
    .map((r) =>
      r
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

function outcomeCell<T>(o: Outcome<T> | undefined, show: (v: T) => string): string {
  if (!o) return '—';
  if (o.status === 'ok') return show(o.value);
  if (o.status === 'skipped') return o.reason;
  return 'failed';
}

/** Each round's gatectl / relay ratio, when the row ran in several rounds. */
function roundRatios(g: PgbenchResult, r: PgbenchResult): string {
  const gs = g.roundsTps ?? [];
  const rs = r.roundsTps ?? [];
  if (gs.length < 2 || gs.length !== rs.length) return '';
  return `by round: ${gs.map((t, i) => (t / rs[i]!).toFixed(2)).join(', ')}`;
}

/** The human-readable report: raw numbers, then the checks against the targets. */
export function renderReport(results: BenchResults): string {
  const out: string[] = [];
  const s = results.settings;
  out.push(
    `gatectl bench — ${results.machine.cpus} CPUs, load ${results.machine.loadAverage.map((l) => l.toFixed(2)).join(' ')}, ` +
      (results.machine.autogroup === null ? '' : `autogroup ${results.machine.autogroup ? 'on' : 'off'}, `) +
      `pgbench -S ${s.seconds}s per path in ${s.rounds} round${s.rounds === 1 ? '' : 's'}, scale ${s.scale}` +
      (results.git
        ? `, commit ${results.git.commit.slice(0, 12)}${results.git.dirty ? ' (modified)' : ''}`
        : ''),
    '',
  );
  const rows = [['pgbench -S', ...PATHS.map((p) => `${PATH_LABELS[p]} (tps / ms)`)]];
  for (const config of PGBENCH_CONFIGS) {
    rows.push([
      config.name,
      ...PATHS.map((p) =>
        outcomeCell(results.pgbench[config.name]?.[p], (v) => `${fmt(v.tps, 0)} / ${fmt(v.latencyMs, 3)}`),
      ),
    ]);
  }
  out.push(table(rows), '');
  const cpu = cpuRows(results);
  if (cpu.length > 1)
    out.push(
      'CPU per transaction, µs (user + system, in the steady-state window of each round, averaged over rounds)',
      table(cpu),
      '',
    );
  const copyRow = (['direct', 'relay', 'gatectl'] as const).map(
    (p) => `${PATH_LABELS[p]} ${outcomeCell(results.copy[p], (v) => `${fmt(v.medianMs / 1000, 2)} s`)}`,
  );
  out.push(`COPY ${s.copyRows} rows (median of ${s.copyRuns}): ${copyRow.join(' · ')}`);
  const copyCpu = (['direct', 'relay', 'gatectl'] as const).flatMap((p) => {
    const cpu = okValue<TimingSeries>(results.copy[p])?.cpuMs;
    if (!cpu || Object.keys(cpu).length === 0) return [];
    return [
      `${PATH_LABELS[p]} ${Object.entries(cpu)
        .map(([role, ms]) => `${role} ${ms === null ? '—' : fmt(ms, 0)}`)
        .join(' · ')}`,
    ];
  });
  if (copyCpu.length > 0)
    out.push(`COPY CPU per run, ms (median; the CLI's includes its start-up): ${copyCpu.join(' | ')}`);
  out.push(
    `gatectl exec -- true (median of ${s.execRuns}): ${outcomeCell(results.execTrue, (v) => `${fmt(v.medianMs, 0)} ms`)}`,
  );
  out.push(
    `card numbers through the tunnel: ${outcomeCell(results.maskingThroughTunnel, (masked) => (masked ? 'masked' : 'NOT masked'))}`,
  );
  for (const path of ['direct', 'gatectl'] as const) {
    out.push(
      `${s.connections} connections × ${s.queriesPerConnection} queries, ${PATH_LABELS[path]}: ${outcomeCell(
        results.concurrency[path],
        (v) =>
          `${v.errors} errors, ${v.queriesOk} queries ok, connected in ${fmt(v.connectMs / 1000, 2)} s` +
          (v.broker
            ? `, broker RSS ${v.broker.rssBeforeKb} → ${v.broker.rssOpenKb} kB (max sampled ${v.broker.rssMaxSampledKb}, HWM ${v.broker.hwmAfterKb})`
            : ''),
      )}`,
    );
  }
  out.push('', 'Targets');
  const targetRows = [['check', 'value', 'target', 'verdict']];
  for (const t of results.targets) {
    targetRows.push([
      t.id,
      t.value === null ? '—' : `${fmt(t.value, t.unit === '×' ? 3 : 2)} ${t.unit}`,
      t.target,
      t.pass === null ? 'n/a' : t.pass ? 'PASS' : 'FAIL',
    ]);
  }
  out.push(table(targetRows));
  const notes = results.targets.filter((t) => t.note);
  if (notes.length > 0) {
    out.push('');
    for (const t of notes) out.push(`  ${t.id}: ${t.note}`);
  }
  out.push('', 'Ratios');
  out.push(
    table([
      ['ratio', 'value'],
      ...results.ratios.map((r) => [r.description, r.value === null ? '—' : fmt(r.value, 3)]),
    ]),
  );
  const failures = collectFailures(results);
  if (failures.length > 0) {
    out.push('', 'Failures');
    for (const f of failures) out.push(`  ${f}`);
  }
  return `${out.join('\n')}\n`;
}

/** Every measurement that failed, as `name: failed: error`. */
export function collectFailures(results: BenchResults): string[] {
  const failures: string[] = [];
  const add = (name: string, o: Outcome<unknown> | undefined) => {
    if (o?.status === 'failed') failures.push(`${name}: failed: ${o.error}`);
  };
  for (const [config, byPath] of Object.entries(results.pgbench))
    for (const [path, o] of Object.entries(byPath)) add(`pgbench ${config} ${path}`, o);
  for (const [path, o] of Object.entries(results.copy)) add(`copy ${path}`, o);
  add('exec true', results.execTrue);
  add('masking check', results.maskingThroughTunnel);
  for (const [path, o] of Object.entries(results.concurrency)) add(`concurrency ${path}`, o);
  return failures;
}

/** One row per configuration and path that measured CPU: each process, and their sum. */
function cpuRows(results: BenchResults): string[][] {
  const rows = [['pgbench -S', 'path', 'by process', 'total']];
  for (const config of PGBENCH_CONFIGS) {
    for (const path of PATHS) {
      const o = results.pgbench[config.name]?.[path];
      if (o?.status !== 'ok' || !o.value.cpuUsPerTx) continue;
      const entries = Object.entries(o.value.cpuUsPerTx);
      const known = entries.filter((e): e is [string, number] => typeof e[1] === 'number');
      rows.push([
        config.name,
        PATH_LABELS[path],
        entries.map(([role, us]) => `${role} ${us === null ? '—' : fmt(us, 1)}`).join(' · '),
        known.length === entries.length
          ? fmt(
              known.reduce((a, [, us]) => a + us, 0),
              1,
            )
          : '—',
      ]);
    }
  }
  return rows;
}
