import { ConfigError, loadConfig } from '../../broker/config/load.js';
import { startBroker } from '../../broker/server.js';
import { StoreError } from '../../store/store.js';
import type { CommandContext } from '../context.js';
import { CliError, ExitCode } from '../errors.js';

export async function run(ctx: CommandContext, options: Record<string, unknown>): Promise<number> {
  const file = String(options.config);
  let broker: Awaited<ReturnType<typeof startBroker>>;
  try {
    broker = await startBroker({ loaded: loadConfig(file, { env: ctx.io.env }) });
  } catch (err) {
    if (err instanceof ConfigError)
      throw new CliError(`invalid configuration\n${err.message}`, {
        code: err.code,
        exitCode: ExitCode.usage,
      });
    if (err instanceof StoreError)
      throw new CliError(err.message, { code: err.code, exitCode: ExitCode.error });
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'EADDRINUSE' || e.code === 'EACCES' || e.code === 'EADDRNOTAVAIL') {
      throw new CliError(`cannot listen: ${e.message}`, {
        code: e.code,
        hint: 'Change `listen` in the configuration.',
      });
    }
    throw err;
  }
  ctx.io.stderr.write(`gatectl broker listening on ${broker.url}\n`);
  // Graceful shutdown: stop accepting, let in-flight requests finish, close the store.
  await new Promise<void>((resolve) => {
    if (ctx.signal.aborted) resolve();
    ctx.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  broker.ctx.log.info('shutting down');
  await broker.close();
  return ExitCode.ok;
}
