import type { CommandContext } from '../context.js';
import { ExitCode, NonInteractiveError } from '../errors.js';
import { canPrompt } from '../io/streams.js';
import { brokerClient } from '../session.js';

/** `gatectl review`: the interactive approval queue. Ink and React load here only, on a terminal. */
export async function run(ctx: CommandContext): Promise<number> {
  if (!canPrompt(ctx.io))
    throw new NonInteractiveError(
      '`gatectl review`',
      '`gatectl grants --pending` and `gatectl approve <id>`',
    );
  const client = await brokerClient(ctx);
  // Fails early with the usual login error rather than inside the UI.
  await client.request('GET', '/v1/grants?scope=approvable');
  const { runReview } = await import('../../ui/review.js');
  await runReview(client, ctx.io, ctx.signal);
  return ExitCode.ok;
}
