import type { CommandContext } from '../context.js';
import { UsageError } from '../errors.js';
import { postGrantAction } from '../grants/decide.js';

export async function run(
  ctx: CommandContext,
  options: Record<string, unknown>,
  args: string[],
): Promise<number> {
  const reason = typeof options.reason === 'string' ? options.reason.trim() : '';
  if (!reason)
    throw new UsageError('a denial needs a reason (it is shown to the requester)', {
      hint: `Usage: gatectl deny ${args[0] ?? '<id>'} --reason "…"`,
    });
  return postGrantAction(
    ctx,
    options,
    args[0]!,
    'deny',
    { reason },
    (g) => `Denied ${g.id}: ${g.identity} will see “${reason}”.`,
  );
}
