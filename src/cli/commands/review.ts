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
  // Ink switches to "print the last frame on exit" when CI/CONTINUOUS_INTEGRATION is set (is-in-ci,
  // read once at import). Both ends are a terminal here, so the live UI is what the user needs,
  // even inside a CI job's interactive debug shell.
  delete process.env.CI;
  delete process.env.CONTINUOUS_INTEGRATION;
  const { runReview } = await import('../../ui/review.js');
  await runReview(client, ctx.io, ctx.signal);
  return ExitCode.ok;
}
