import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** The fields of /proc/<pid>/stat this harness reads. */
export interface ProcStat {
  comm: string;
  ppid: number;
  /** User and system time of all the process's threads, in clock ticks. */
  utime: number;
  stime: number;
}

/** Parses /proc/<pid>/stat; the command name may hold spaces and parentheses. */
export function parseProcStat(text: string): ProcStat | null {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return null;
  // After the name: state(3) ppid(4) … utime(14) stime(15), numbered as in proc(5).
  const rest = text
    .slice(close + 2)
    .trim()
    .split(/\s+/);
  const field = (n: number) => Number(rest[n - 3]);
  const stat = { comm: text.slice(open + 1, close), ppid: field(4), utime: field(14), stime: field(15) };
  return Number.isFinite(stat.ppid) && Number.isFinite(stat.utime) && Number.isFinite(stat.stime)
    ? stat
    : null;
}

function readStat(pid: number): ProcStat | null {
  try {
    return parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return null;
  }
}

let ticksPerSecond: number | undefined;
function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** CPU time used so far by a process (all threads), in microseconds; null when it is gone. */
export function processCpuUs(pid: number): number | null {
  const s = readStat(pid);
  return s ? ((s.utime + s.stime) * 1e6) / clockTicks() : null;
}

/** The processes whose parent is `pid`. */
export function childPids(pid: number): number[] {
  return parentsByPid().get(pid) ?? [];
}

/** Every process below `pid` (children, their children, …), from one reading of /proc. */
export function descendantPids(pid: number): number[] {
  const children = parentsByPid();
  const out: number[] = [];
  for (let i = -1; i < out.length; i++) out.push(...(children.get(i < 0 ? pid : out[i]!) ?? []));
  return out;
}

/** Running processes grouped by parent: ppid → pids. */
function parentsByPid(): Map<number, number[]> {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const ppid = readStat(Number(entry))?.ppid;
    if (ppid === undefined) continue;
    const list = children.get(ppid);
    if (list) list.push(Number(entry));
    else children.set(ppid, [Number(entry)]);
  }
  return children;
}

/** Whether Linux groups CPU shares by session (autogroup); null where the kernel does not say. */
export function autogroupEnabled(): boolean | null {
  try {
    return readFileSync('/proc/sys/kernel/sched_autogroup_enabled', 'utf8').trim() === '1';
  } catch {
    return null;
  }
}

/** The postmaster's pid, from the first line of `postmaster.pid` in the data directory. */
export function postmasterPid(dataDir: string): number | null {
  try {
    const pid = Number(readFileSync(`${dataDir}/postmaster.pid`, 'utf8').split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

/** A line of `pgbench -P`: "progress: 3.0 s, 15234.1 tps, lat 0.523 ms stddev 0.101, 0 failed". */
export function parseProgress(line: string): { atSeconds: number; tps: number } | null {
  const m = /^progress: ([\d.]+) s, ([\d.]+) tps/.exec(line);
  return m ? { atSeconds: Number(m[1]), tps: Number(m[2]) } : null;
}

export interface Snapshot {
  atSeconds: number;
  /** Transactions pgbench reported up to this line (tps × interval, summed). */
  transactions: number;
  /** By role, the CPU time of each of its processes that could be read, in µs, by pid. */
  cpuUs: Record<string, Record<number, number>>;
}

/**
 * CPU time per transaction of each process on a path, in a steady-state window of a pgbench run:
 * every `pgbench -P 1` progress line takes a snapshot of the processes' CPU times, and the
 * window runs from the first line (connections and warm-up done) to the last one. Transactions
 * come from pgbench's own per-interval rates, so the counts and the CPU times cover the same
 * seconds. `roles` names the processes (e.g. `broker`) and is asked again at every line, so a
 * process that starts with the run (the CLI) is found once it exists; a role with several
 * processes (PostgreSQL's backends) is their sum.
 */
export class CpuPerTransaction {
  readonly #roles: () => Record<string, number[]>;
  readonly #snapshots: Snapshot[] = [];
  #transactions = 0;
  #lastAt = 0;

  constructor(roles: () => Record<string, number[]>) {
    this.#roles = roles;
  }

  /** Feed every stderr line of the run; progress lines take a snapshot. */
  line(text: string): void {
    const p = parseProgress(text);
    if (!p) return;
    this.#transactions += p.tps * (p.atSeconds - this.#lastAt);
    this.#lastAt = p.atSeconds;
    const cpuUs: Record<string, Record<number, number>> = {};
    for (const [role, pids] of Object.entries(this.#roles())) {
      const byPid: Record<number, number> = {};
      for (const pid of pids) {
        const us = processCpuUs(pid);
        if (us !== null) byPid[pid] = us;
      }
      cpuUs[role] = byPid;
    }
    this.#snapshots.push({ atSeconds: p.atSeconds, transactions: this.#transactions, cpuUs });
  }

  /** Microseconds of CPU per transaction by role; null for a role not seen in both snapshots. */
  result(): Record<string, number | null> | null {
    return perTransaction(this.#snapshots);
  }
}

/**
 * Per role, from the first snapshot to the last one in which every process of the first is still
 * there (a process that exits right after pgbench's last line is read up to the line before).
 * Null for a role without processes in the first snapshot; null overall without two snapshots.
 */
export function perTransaction(snapshots: readonly Snapshot[]): Record<string, number | null> | null {
  if (snapshots.length < 2) return null;
  const first = snapshots[0]!;
  const out: Record<string, number | null> = {};
  for (const [role, start] of Object.entries(first.cpuUs)) {
    const pids = Object.keys(start).map(Number);
    out[role] = null;
    if (pids.length === 0) continue;
    for (let i = snapshots.length - 1; i > 0; i--) {
      const end = snapshots[i]!.cpuUs[role] ?? {};
      if (!pids.every((pid) => end[pid] !== undefined)) continue;
      const transactions = snapshots[i]!.transactions - first.transactions;
      if (transactions > 0)
        out[role] = pids.reduce((sum, pid) => sum + end[pid]! - start[pid]!, 0) / transactions;
      break;
    }
  }
  return out;
}

/**
 * CPU time each process of a path spent on one run, in ms. A process that outlives the run (the
 * broker, a relay hop) is read before and after; one the run starts (psql, the CLI) is read every
 * 20 ms from when it is `track`ed until it exits, and its last reading counts, so up to 20 ms of
 * its end may be missed.
 */
export class CpuDuringRun {
  readonly #steady: Record<string, { pid: number; before: number | null }> = {};
  readonly #spawned: Record<string, { pid: number; last: number | null }> = {};
  readonly #timer: NodeJS.Timeout;

  constructor(steady: Record<string, number>) {
    for (const [role, pid] of Object.entries(steady)) this.#steady[role] = { pid, before: processCpuUs(pid) };
    this.#timer = setInterval(() => this.#poll(), 20);
  }

  /** Starts reading a process the run started. */
  track(role: string, pid: number | undefined): void {
    if (pid === undefined) return;
    this.#spawned[role] = { pid, last: processCpuUs(pid) };
  }

  #poll(): void {
    for (const p of Object.values(this.#spawned)) {
      const us = processCpuUs(p.pid);
      if (us !== null) p.last = us;
    }
  }

  /** Stops reading; ms by role, null where a process could not be read. */
  finish(): Record<string, number | null> {
    clearInterval(this.#timer);
    const out: Record<string, number | null> = {};
    for (const [role, s] of Object.entries(this.#steady)) {
      const after = processCpuUs(s.pid);
      out[role] = s.before === null || after === null ? null : (after - s.before) / 1000;
    }
    for (const [role, p] of Object.entries(this.#spawned)) out[role] = p.last === null ? null : p.last / 1000;
    return out;
  }
}
