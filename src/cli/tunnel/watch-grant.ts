import type { GrantView } from '../../broker/grants/grant.types.js';
import type { BrokerClient } from '../broker-client.js';
import { ExitCode } from '../errors.js';
import { waitForGrant } from '../grants/wait.js';
import { formatTime } from '../io/output.js';

/**
 * Resolves when the grant a tunnel runs on is no longer approved (revoked by an approver, given
 * up, or over), by long-polling the broker, which answers the moment any replica changes it.
 * Rejects when the broker cannot be asked any more (an expired session, a broker gone for
 * minutes); aborting `signal` stops the watch.
 */
export function watchGrant(client: BrokerClient, grantId: string, signal: AbortSignal): Promise<GrantView> {
  return waitForGrant(client, grantId, { whileState: 'approved', signal });
}

/** What `gatectl connect` prints and returns when its grant is over. */
export function grantEndNotice(grant: GrantView): { code: number; message: string } {
  const target = grant.target;
  if (grant.state === 'revoked') {
    const who = grant.revoked_by ?? 'an approver';
    // Without a reason the broker records "revoked by <who>", which the sentence already says.
    const reason = grant.end_reason && grant.end_reason !== `revoked by ${who}` ? grant.end_reason : null;
    return {
      code: ExitCode.error,
      message: `The grant to ${target} was revoked by ${who}${reason ? `: ${reason}` : ''}; tunnel closed.`,
    };
  }
  const endsAt = grant.ends_at ? Date.parse(grant.ends_at) : null;
  const endedAt = grant.ended_at ? Date.parse(grant.ended_at) : null;
  // Time ran out: the normal end of a time-boxed grant, as when the local timer fires first.
  if (grant.state === 'ended' && endsAt !== null && endedAt !== null && endedAt >= endsAt)
    return {
      code: ExitCode.ok,
      message: `The grant to ${target} ended at ${formatTime(grant.ends_at)}; tunnel closed.`,
    };
  return {
    code: ExitCode.error,
    message: `The grant to ${target} ${grant.state === 'ended' ? 'ended' : `is ${grant.state}`}${grant.end_reason ? `: ${grant.end_reason}` : ''}; tunnel closed.`,
  };
}
