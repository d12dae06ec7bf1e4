import type { TargetSummary } from '../../broker/routes/targets.js';
import { formatDuration } from '../../lib/duration.js';
import type { CommandContext } from '../context.js';
import { formatTime, writeJson, writeTable } from '../io/output.js';
import { brokerClient } from '../session.js';

export async function run(ctx: CommandContext, options: Record<string, unknown>): Promise<number> {
  const client = await brokerClient(ctx);
  const { targets } = await client.request<{ targets: TargetSummary[] }>('GET', '/v1/targets');
  if (options.json) {
    writeJson(ctx.io, targets);
    return 0;
  }
  writeTable(ctx.io, targets, [
    { header: 'name', value: (t) => t.name },
    { header: 'kind', value: (t) => t.kind },
    {
      header: 'access',
      value: (t) => (!t.allowed ? 'not allowed' : t.approval_required ? 'approval' : 'automatic'),
    },
    { header: 'max', value: (t) => formatDuration(t.max_duration_ms) },
    { header: 'description', value: (t) => t.description ?? '' },
    {
      header: 'grant',
      value: (t) =>
        t.grant
          ? `active until ${formatTime(t.grant.ends_at)} (${t.grant.id})`
          : t.pending_request
            ? `pending (${t.pending_request.id})`
            : '',
    },
  ]);
  return 0;
}
