import { join } from 'node:path';
import { ConfigError } from '../../broker/config/load.js';
import { devBanner } from '../../broker/dev/banner.js';
import { DevStackError } from '../../broker/dev/demo-database.js';
import { startDevStack } from '../../broker/dev/stack.js';
import { StoreError } from '../../store/store.js';
import { configDir } from '../config.js';
import type { CommandContext } from '../context.js';
import { CliError, UsageError } from '../errors.js';
import { colorEnabled } from '../io/streams.js';

/**
 * `gatectl broker dev`: broker, identity provider and demo database on loopback in one
 * command; Ctrl-C (or SIGTERM) stops all of it. Development only.
 */
export async function run(ctx: CommandContext, options: Record<string, unknown>): Promise<number> {
  const dataDir = typeof options.dataDir === 'string' ? options.dataDir : join(configDir(ctx.io.env), 'dev');
  const port = Number(options.port ?? 7420);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new UsageError(`invalid --port: ${options.port}`);
  const targetUrl = typeof options.targetUrl === 'string' ? options.targetUrl : undefined;
  if (targetUrl && !/^postgres(ql)?:\/\//.test(targetUrl))
    throw new UsageError('--target-url must be a postgres:// URL of a superuser');

  let stack: Awaited<ReturnType<typeof startDevStack>>;
  try {
    stack = await startDevStack({
      dataDir,
      port,
      ...(targetUrl ? { targetUrl } : {}),
      progress: (line) => ctx.io.stderr.write(`${line}\n`),
    });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (err instanceof DevStackError || err instanceof StoreError || err instanceof ConfigError)
      throw new CliError(e.message, { code: e.code ?? 'dev_stack', cause: err });
    if (e.code === 'EADDRINUSE')
      throw new CliError(`cannot listen on 127.0.0.1:${port}: the port is in use`, {
        code: e.code,
        hint: 'Pass --port with another port (or 0 for a free one).',
      });
    throw err;
  }
  if (ctx.signal.aborted) {
    await stack.close();
    return 0;
  }
  ctx.io.stderr.write(devBanner(stack, colorEnabled(ctx.io)));
  await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve(), { once: true }));
  ctx.io.stderr.write('stopping the dev stack…\n');
  await stack.close();
  ctx.io.stderr.write('stopped.\n');
  return 0;
}
