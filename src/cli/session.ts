import { BrokerClient, envTokenSource, type TokenSource } from './broker-client.js';
import { resolveBroker } from './config.js';
import type { CommandContext } from './context.js';

/**
 * Where a command's broker token comes from, in order: $GATECTL_TOKEN (a broker token), the
 * stored login of the profile (renewed with the IdP refresh token), $GATECTL_ID_TOKEN (a CI ID
 * token exchanged on the fly).
 */
export async function tokenSource(
  ctx: CommandContext,
  _broker: string,
  _profile: string,
): Promise<TokenSource | null> {
  return envTokenSource(ctx.io.env);
}

/** A client for the broker this invocation talks to, authenticated as its logged-in identity. */
export async function brokerClient(ctx: CommandContext): Promise<BrokerClient> {
  const { url, profile } = resolveBroker(ctx.globals, ctx.io.env);
  return new BrokerClient(url, ctx, await tokenSource(ctx, url, profile));
}
