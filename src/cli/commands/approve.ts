import type { CommandContext } from '../context.js';
import { postGrantAction } from '../grants/decide.js';
import { formatTime } from '../io/output.js';

export async function run(
  ctx: CommandContext,
  options: Record<string, unknown>,
  args: string[],
): Promise<number> {
  const comment = typeof options.comment === 'string' ? options.comment : null;
  return postGrantAction(ctx, options, args[0]!, 'approve', { comment }, (g) => {
    const n = g.decisions.filter((d) => d.decision === 'approve').length;
    return g.state === 'approved'
      ? `Approved ${g.id}: ${g.identity} may use ${g.target} until ${formatTime(g.ends_at)}.`
      : `Recorded your approval of ${g.id} (${n} of ${g.approvals_required}); it needs more approvers.`;
  });
}
