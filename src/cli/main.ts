import { readFileSync } from 'node:fs';
import { type Command, CommanderError } from 'commander';
import type { CommandContext, CommandModule } from './context.js';
import { CliError, ExitCode } from './errors.js';
import { systemStreams } from './io/streams.js';
import { buildProgram } from './program.js';

/** Each command's implementation, imported only when that command runs. */
const commands: Record<string, () => Promise<CommandModule>> = {
  login: () => import('./commands/login.js'),
  logout: () => import('./commands/logout.js'),
  status: () => import('./commands/status.js'),
  targets: () => import('./commands/targets.js'),
  request: () => import('./commands/request.js'),
  grants: () => import('./commands/grants.js'),
  approve: () => import('./commands/approve.js'),
  deny: () => import('./commands/deny.js'),
  revoke: () => import('./commands/revoke.js'),
  review: () => import('./commands/review.js'),
  connect: () => import('./commands/connect.js'),
  exec: () => import('./commands/exec.js'),
  'broker-start': () => import('./commands/broker-start.js'),
  'broker-check': () => import('./commands/broker-check.js'),
  'broker-dev': () => import('./commands/broker-dev.js'),
  'broker-dev-token': () => import('./commands/broker-dev-token.js'),
  completion: () => import('./commands/completion.js'),
  __complete: () => import('./commands/complete.js'),
};

export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

export async function main(argv: string[]): Promise<void> {
  const io = systemStreams();
  const controller = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    if (controller.signal.aborted) process.exit(130);
    controller.abort(new CliError(`Interrupted (${sig})`, { code: 'interrupted', exitCode: 130 }));
  };
  let exitCode: number = ExitCode.ok;
  const program = buildProgram(packageVersion(), async (name, options, args, globals) => {
    const load = commands[name];
    if (!load) throw new CliError(`unknown command ${name}`);
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    const mod = await load();
    const ctx: CommandContext = {
      io,
      globals,
      fetch: globalThis.fetch,
      now: () => new Date(),
      signal: controller.signal,
    };
    exitCode = (await mod.run(ctx, options, args)) ?? ExitCode.ok;
  });
  // Subcommands copy these settings when they are created, so apply them to the whole tree:
  // otherwise a usage mistake in a subcommand exits the process with commander's code 1.
  const configure = (cmd: Command) => {
    cmd.exitOverride();
    cmd.configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
    });
    for (const sub of cmd.commands) configure(sub);
  };
  configure(program);
  try {
    await program.parseAsync(argv);
  } catch (err) {
    exitCode = reportError(err, io.stderr);
  }
  process.exitCode = exitCode;
}

/** Prints an error for a person and returns the exit code; never a stack trace unless GATECTL_DEBUG is set. */
export function reportError(err: unknown, stderr: NodeJS.WritableStream): number {
  if (err instanceof CommanderError) {
    // Help and version end in a CommanderError with exit code 0; usage mistakes are 2.
    if (err.exitCode === 0) return ExitCode.ok;
    return ExitCode.usage;
  }
  if (err instanceof CliError) {
    stderr.write(`error: ${err.message}\n`);
    if (err.hint) stderr.write(`${err.hint}\n`);
    if (process.env.GATECTL_DEBUG && err.cause)
      stderr.write(`${String((err.cause as Error).stack ?? err.cause)}\n`);
    return err.exitCode;
  }
  const e = err as Error;
  stderr.write(`error: ${e?.message ?? String(err)}\n`);
  if (process.env.GATECTL_DEBUG) stderr.write(`${e?.stack ?? ''}\n`);
  return ExitCode.error;
}
