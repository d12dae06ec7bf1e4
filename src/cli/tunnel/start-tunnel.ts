import type { TunnelCreated } from '../../broker/tunnels/tunnel.types.js';
import { parseDuration } from '../../lib/duration.js';
import { BrokerClient, type TokenSource } from '../broker-client.js';
import { resolveBroker } from '../config.js';
import type { CommandContext } from '../context.js';
import { CliError, UsageError } from '../errors.js';
import { formatTime } from '../io/output.js';
import { tokenSource } from '../session.js';
import { type ConnectionInfo, connectionInfo, postgresFailureReply } from './connection-info.js';
import { ensureGrant } from './ensure-grant.js';
import { type LightFetch, lightFetch } from './light-fetch.js';
import { LocalTunnel } from './local-tunnel.js';
import { closeTunnelAtBroker, openTunnel } from './open-tunnel.js';

export interface TunnelFlags {
  reason?: string;
  duration?: string;
  wait?: string;
  port?: string;
}

export interface StartedTunnel {
  created: TunnelCreated;
  local: LocalTunnel;
  info: ConnectionInfo;
  /** The broker API as this tunnel reaches it (aborted by Ctrl-C); usable until `close()`. */
  client: BrokerClient;
  /** Stops the listener and tells the broker; safe to call twice, works after Ctrl-C. */
  close(): Promise<void>;
}

export function parseTunnelFlags(flags: TunnelFlags): {
  durationMs?: number;
  waitMs?: number;
  port?: number;
} {
  const out: { durationMs?: number; waitMs?: number; port?: number } = {};
  if (flags.duration !== undefined) {
    const d = parseDuration(flags.duration);
    if (d === null) throw new UsageError(`invalid --duration "${flags.duration}": expected e.g. 30m, 1h`);
    out.durationMs = d;
  }
  if (flags.wait !== undefined) {
    const w = parseDuration(flags.wait);
    if (w === null) throw new UsageError(`invalid --wait "${flags.wait}": expected e.g. 90s, 10m`);
    out.waitMs = w;
  }
  if (flags.port !== undefined) {
    const p = Number(flags.port);
    if (!Number.isInteger(p) || p < 0 || p > 65535)
      throw new UsageError(`invalid --port "${flags.port}": expected a number 0–65535`);
    out.port = p;
  }
  return out;
}

/**
 * Grant (requested and awaited if needed) → tunnel at the broker → local listener. Status goes
 * to `onStatus` (stderr); nothing here prints the secret.
 */
export async function startTunnel(
  ctx: CommandContext,
  target: string,
  flags: TunnelFlags,
  onStatus: (message: string) => void,
): Promise<StartedTunnel> {
  const parsed = parseTunnelFlags(flags);
  const { url, profile } = resolveBroker(ctx.globals, ctx.io.env);
  const tokens = await tokenSource(ctx, url, profile);
  // The global fetch is swapped for a lighter one (start-up time); an injected one is kept.
  const light = ctx.fetch === globalThis.fetch ? lightFetch() : null;
  const fetchImpl = light?.fetch ?? ctx.fetch;
  const client = new BrokerClient(url, { fetch: fetchImpl, signal: ctx.signal }, tokens);
  // Tear-down must still reach the broker after Ctrl-C has aborted `ctx.signal`.
  const teardown = new BrokerClient(url, { fetch: fetchImpl, signal: new AbortController().signal }, tokens);
  try {
    return await open(ctx, target, flags, parsed, onStatus, { url, tokens, client, teardown, light });
  } catch (err) {
    light?.close();
    throw err;
  }
}

async function open(
  ctx: CommandContext,
  target: string,
  flags: TunnelFlags,
  parsed: ReturnType<typeof parseTunnelFlags>,
  onStatus: (message: string) => void,
  deps: {
    url: string;
    tokens: TokenSource | null;
    client: BrokerClient;
    teardown: BrokerClient;
    light: LightFetch | null;
  },
): Promise<StartedTunnel> {
  const { url, tokens, client, teardown, light } = deps;
  // Most runs already hold a grant: ask for the tunnel first and fall back to the grant
  // dance only when the broker says there is none (one round trip less for `exec`).
  let created = await openTunnel(client, target).catch((err: unknown) => {
    if (err instanceof CliError && err.code === 'no_active_grant') return null;
    throw err;
  });
  if (!created) {
    await ensureGrant(client, target, {
      reason: flags.reason,
      durationMs: parsed.durationMs,
      waitMs: parsed.waitMs,
      signal: ctx.signal,
      onStatus,
      withdrawWith: teardown,
    });
    created = await openTunnel(client, target);
  }
  // An active grant is reused as it is, and policy caps a new one: a job that asked for more
  // time than it got should hear so now, not when the grant cuts it off. (A minute of slack: a
  // grant approved just now for exactly that long ends a few milliseconds before now + duration.)
  const endsAt = Date.parse(created.tunnel.expires_at);
  if (parsed.durationMs !== undefined && endsAt + 60_000 < Date.now() + parsed.durationMs)
    onStatus(
      `The grant to ${target} ends at ${formatTime(endsAt)}, sooner than --duration ${flags.duration} (an active grant is reused as it is; policy caps new ones).`,
    );
  const local = new LocalTunnel({
    brokerUrl: url,
    tunnelId: created.tunnel.id,
    tokens,
    port: parsed.port,
    failureReply: postgresFailureReply,
  });
  let port: number;
  try {
    port = await local.listen();
  } catch (err) {
    await closeTunnelAtBroker(teardown, created.tunnel.id);
    throw err;
  }
  let closing: Promise<void> | undefined;
  return {
    created,
    local,
    info: connectionInfo(created.tunnel, port, created.secret),
    client,
    close() {
      closing ??= Promise.all([local.close(), closeTunnelAtBroker(teardown, created.tunnel.id)]).then(() =>
        light?.close(),
      );
      return closing;
    },
  };
}
