import type { AuthMeResponse } from '../../broker/routes/auth.js';
import { formatDuration } from '../../lib/duration.js';
import { BrokerClient } from '../broker-client.js';
import { resolveBroker } from '../config.js';
import type { CommandContext } from '../context.js';
import { NotLoggedInError } from '../errors.js';
import { formatTime, writeJson } from '../io/output.js';
import { tokenSource } from '../session.js';

/** `gatectl status --json`: stable field names; never a token value. */
export interface StatusJson {
  broker: string;
  profile: string;
  identity: string;
  kind: 'human' | 'machine';
  name: string | null;
  groups: string[];
  expires_at: string;
  /** `keychain`, `file`, `env:GATECTL_TOKEN` or `env:GATECTL_ID_TOKEN`. */
  token_source: string;
  /** The credentials file, when the token is stored there. */
  credentials_file: string | null;
}

export async function run(ctx: CommandContext, options: Record<string, unknown>): Promise<number> {
  const { url, profile } = resolveBroker(ctx.globals, ctx.io.env);
  const session = await tokenSource(ctx, url, profile);
  if (!session) throw new NotLoggedInError(`You are not logged in to ${url}: run \`gatectl login\``);
  const client = new BrokerClient(url, ctx, session);
  const me = await client.request<AuthMeResponse>('GET', '/v1/auth/me');
  const status: StatusJson = {
    broker: url,
    profile,
    identity: me.identity.id,
    kind: me.identity.kind,
    name: me.identity.name,
    groups: me.identity.groups,
    expires_at: me.expires_at,
    token_source: session.origin,
    credentials_file: session.file ?? null,
  };
  if (options.json) {
    writeJson(ctx.io, status);
    return 0;
  }
  const left = Date.parse(me.expires_at) - ctx.now().getTime();
  const where =
    session.origin === 'keychain'
      ? 'OS keychain'
      : session.origin === 'file'
        ? `${session.file} (no OS keychain)`
        : `$${session.origin.slice(4)}`;
  const lines: Array<[string, string]> = [
    ['Broker', url],
    ['Profile', profile],
    ['Identity', `${status.identity}${status.name ? ` (${status.name})` : ''}, ${status.kind}`],
    ['Groups', status.groups.length ? status.groups.join(', ') : '(none)'],
    ['Expires', `${formatTime(me.expires_at)}${left > 0 ? ` (in ${formatDuration(left)})` : ''}`],
    ['Token', where],
  ];
  for (const [k, v] of lines) ctx.io.stdout.write(`${`${k}:`.padEnd(10)}${v}\n`);
  return 0;
}
