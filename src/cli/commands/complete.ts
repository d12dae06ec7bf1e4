import type { TargetSummary } from '../../broker/routes/targets.js';
import type { CommandContext } from '../context.js';
import { brokerClient } from '../session.js';

/** How long a completion may wait for the broker before the shell gets nothing. */
const TIMEOUT_MS = 1500;

/**
 * `gatectl __complete targets`: target names for the completion scripts, one per line.
 * Completion must never get in the way of typing, so every failure (no broker configured,
 * not logged in, unreachable, slow) prints nothing and exits 0.
 */
export async function run(
  ctx: CommandContext,
  _options: Record<string, unknown>,
  args: string[],
): Promise<number> {
  if (args[0] !== 'targets') return 0;
  try {
    const client = await brokerClient(ctx);
    const { targets } = await client.request<{ targets: TargetSummary[] }>('GET', '/v1/targets', undefined, {
      timeoutMs: TIMEOUT_MS,
    });
    const names = targets.filter((t) => t.allowed).map((t) => t.name);
    if (names.length > 0) ctx.io.stdout.write(`${names.join('\n')}\n`);
  } catch {
    // Nothing to offer.
  }
  return 0;
}
