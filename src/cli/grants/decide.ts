import type { GrantView } from '../../broker/grants/grant.types.js';
import type { CommandContext } from '../context.js';
import { ExitCode } from '../errors.js';
import { info, writeJson } from '../io/output.js';
import { brokerClient } from '../session.js';

/** POSTs an approve/deny/revoke and reports the grant's new state; 403s become exit 5 with the broker's reason. */
export async function postGrantAction(
  ctx: CommandContext,
  options: Record<string, unknown>,
  id: string,
  action: 'approve' | 'deny' | 'revoke',
  body: Record<string, unknown>,
  describe: (g: GrantView) => string,
): Promise<number> {
  const client = await brokerClient(ctx);
  const { grant } = await client.request<{ grant: GrantView }>(
    'POST',
    `/v1/grants/${encodeURIComponent(id)}/${action}`,
    body,
  );
  if (options.json) writeJson(ctx.io, grant);
  info(ctx.io, describe(grant));
  return ExitCode.ok;
}
