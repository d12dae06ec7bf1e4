import { ConfigError, loadConfig } from '../../broker/config/load.js';
import type { CommandContext } from '../context.js';
import { CliError, ExitCode } from '../errors.js';

export async function run(ctx: CommandContext, options: Record<string, unknown>): Promise<number> {
  const file = String(options.config);
  try {
    const { config } = loadConfig(file, { env: ctx.io.env });
    ctx.io.stderr.write(
      `${file}: configuration is valid (${config.targets.length} target${config.targets.length === 1 ? '' : 's'}, store ${config.store.split(':')[0]})\n`,
    );
    return ExitCode.ok;
  } catch (err) {
    if (err instanceof ConfigError)
      throw new CliError(`invalid configuration\n${err.message}`, {
        code: err.code,
        exitCode: ExitCode.usage,
      });
    throw err;
  }
}
