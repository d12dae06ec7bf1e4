import type { CommandContext } from '../context.js';
import { CliError } from '../errors.js';

export async function run(
  _ctx: CommandContext,
  _options: Record<string, unknown>,
  _args: string[],
): Promise<number> {
  throw new CliError('`gatectl deny` is not implemented yet');
}
