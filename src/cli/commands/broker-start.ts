import { BrokerStartError, type BrokerThread, startBrokerThread } from '../../broker/thread.js';
import type { CommandContext } from '../context.js';
import { CliError, ExitCode } from '../errors.js';

/** Errors of a broker that could not start, as the person who started it should read them. */
function startError(err: BrokerStartError): Error {
  const { kind, message, code, stack } = err.failure;
  if (kind === 'config')
    return new CliError(`invalid configuration\n${message}`, {
      code: code ?? 'config_invalid',
      exitCode: ExitCode.usage,
    });
  if (kind === 'store')
    return new CliError(message, { code: code ?? 'store_error', exitCode: ExitCode.error });
  if (kind === 'errno' && (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL'))
    return new CliError(`cannot listen: ${message}`, {
      code,
      hint: 'Change `listen` in the configuration.',
    });
  const e = new Error(message);
  if (stack) e.stack = stack;
  return e;
}

export async function run(ctx: CommandContext, options: Record<string, unknown>): Promise<number> {
  const file = String(options.config);
  let broker: BrokerThread;
  try {
    broker = await startBrokerThread({ configFile: file, env: ctx.io.env });
  } catch (err) {
    throw err instanceof BrokerStartError ? startError(err) : err;
  }
  ctx.io.stderr.write(`gatectl broker listening on ${broker.url}\n`);
  // Graceful shutdown on SIGINT/SIGTERM: stop accepting, let in-flight requests finish, close
  // the store. A broker thread that fails on its own ends the command with its error.
  const stopped = await Promise.race([
    broker.ended.then(
      () => false,
      (err: Error) => {
        throw new CliError(`the broker stopped on an unexpected error: ${err.message}`, {
          code: 'broker_failed',
          cause: err,
        });
      },
    ),
    new Promise<boolean>((resolve) => {
      if (ctx.signal.aborted) resolve(true);
      ctx.signal.addEventListener('abort', () => resolve(true), { once: true });
    }),
  ]);
  if (stopped) await broker.stop();
  return ExitCode.ok;
}
