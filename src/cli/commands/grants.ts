import type { GrantView } from '../../broker/grants/grant.types.js';
import { formatDuration } from '../../lib/duration.js';
import type { CommandContext } from '../context.js';
import { ExitCode, UsageError } from '../errors.js';
import { formatTime, writeJson, writeTable } from '../io/output.js';
import { brokerClient } from '../session.js';

/**
 * `gatectl grants`: mine and those I may see as an approver, pending and approved;
 * `--pending`: only requests I may decide now; `--all`: every state.
 */
export async function run(ctx: CommandContext, options: Record<string, unknown>): Promise<number> {
  if (options.pending && options.all) throw new UsageError('use either --pending or --all, not both');
  const query = options.pending
    ? 'scope=approvable'
    : options.all
      ? 'scope=all'
      : 'scope=all&state=pending,approved';
  const client = await brokerClient(ctx);
  const { grants } = await client.request<{ grants: GrantView[] }>('GET', `/v1/grants?${query}`);
  if (options.json) {
    writeJson(ctx.io, grants);
    return ExitCode.ok;
  }
  if (grants.length === 0) {
    ctx.io.stderr.write(options.pending ? 'No pending requests for you to decide.\n' : 'No grants.\n');
    return ExitCode.ok;
  }
  writeTable(ctx.io, grants, [
    { header: 'id', value: (g) => g.id },
    { header: 'target', value: (g) => g.target },
    { header: 'identity', value: (g) => g.identity },
    {
      header: 'state',
      value: (g) => (g.state === 'pending' && g.can_decide ? 'pending (you may decide)' : g.state),
    },
    { header: 'duration', value: (g) => formatDuration(g.duration_ms) },
    { header: 'requested', value: (g) => formatTime(g.created_at) },
    { header: 'ends', value: (g) => formatTime(g.ends_at ?? g.request_expires_at) },
    { header: 'reason', value: (g) => g.reason ?? '' },
  ]);
  return ExitCode.ok;
}
