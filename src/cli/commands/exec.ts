import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import type { CommandContext } from '../context.js';
import { CliError, UsageError } from '../errors.js';
import { CONFLICTING_LIBPQ_ENV, fillPlaceholders, libpqEnv } from '../tunnel/connection-info.js';
import { startTunnel, type TunnelFlags } from '../tunnel/start-tunnel.js';
import { splitExecArgs } from './exec-args.js';

const FORWARDED = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'] as const;

/**
 * `gatectl exec <target> -- <command> [args…]`: a private tunnel for one child process, which
 * finds it in its environment (PGHOST, PGPORT, PGUSER, PGDATABASE, PGPASSWORD, PGSSLMODE,
 * DATABASE_URL). The command is spawned directly, never through a shell, so nothing the
 * database sends can run a command here. Returns the child's exit code (128+n for signal n).
 */
export async function run(
  ctx: CommandContext,
  options: Record<string, unknown>,
  args: string[],
): Promise<number> {
  const [target, ...tail] = args;
  const { flags, command: argv } = splitExecArgs(tail, options as TunnelFlags);
  const [command, ...rest] = argv;
  if (!target || !command) throw new UsageError('usage: gatectl exec <target> -- <command> [args…]');
  if (rest.some((a) => a.includes('{password}')))
    throw new UsageError('{password} is not filled in arguments (other local users can read them)', {
      hint: 'The child finds the secret in $PGPASSWORD and $DATABASE_URL.',
    });
  const status = (m: string) => ctx.io.stderr.write(`${m}\n`);
  const tunnel = await startTunnel(ctx, target, flags, status);
  try {
    const env: NodeJS.ProcessEnv = { ...ctx.io.env };
    for (const k of CONFLICTING_LIBPQ_ENV) delete env[k];
    Object.assign(env, libpqEnv(tunnel.info));
    tunnel.local.on((e) => {
      if (e.kind === 'refused') status(`gatectl: connection refused by the broker: ${e.message}`);
      else if (e.kind === 'error') status(`gatectl: tunnel connection failed: ${e.message}`);
    });
    // Interrupted while the tunnel was being set up: do not start the child at all.
    if (ctx.signal.aborted) throw ctx.signal.reason;
    return await runChild(command, fillPlaceholders(rest, tunnel.info), env);
  } finally {
    await tunnel.close();
  }
}

function runChild(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: 'inherit', env, shell: false });
    // The child runs in our process group, so a terminal's Ctrl-C reaches it directly too;
    // forwarding covers signals sent to gatectl alone (kill, CI runners, timeouts).
    const forward = (sig: NodeJS.Signals) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(sig);
    };
    for (const s of FORWARDED) process.on(s, forward);
    const done = () => {
      for (const s of FORWARDED) process.off(s, forward);
    };
    child.once('error', (err: NodeJS.ErrnoException) => {
      done();
      if (err.code === 'ENOENT')
        reject(new CliError(`command not found: ${command}`, { code: 'command_not_found', exitCode: 127 }));
      else if (err.code === 'EACCES')
        reject(new CliError(`cannot run ${command}: permission denied`, { exitCode: 126 }));
      else reject(new CliError(`cannot run ${command}: ${err.message}`, { exitCode: 126 }));
    });
    child.once('exit', (code, signal) => {
      done();
      if (signal) resolve(128 + (constants.signals[signal] ?? 0));
      else resolve(code ?? 1);
    });
  });
}
