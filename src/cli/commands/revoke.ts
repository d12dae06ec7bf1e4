import type { CommandContext } from '../context.js';
import { postGrantAction } from '../grants/decide.js';

export async function run(
  ctx: CommandContext,
  options: Record<string, unknown>,
  args: string[],
): Promise<number> {
  const reason = typeof options.reason === 'string' ? options.reason : null;
  return postGrantAction(
    ctx,
    options,
    args[0]!,
    'revoke',
    { reason },
    (g) => `Revoked ${g.id}: ${g.identity}'s access to ${g.target} has ended.`,
  );
}
