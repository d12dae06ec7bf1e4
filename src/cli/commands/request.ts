import type { GrantView } from '../../broker/grants/grant.types.js';
import { formatDuration, parseDuration } from '../../lib/duration.js';
import type { CommandContext } from '../context.js';
import { ExitCode, UsageError } from '../errors.js';
import { approvalProgress, writeGrant } from '../grants/format.js';
import { progress } from '../grants/spinner.js';
import { grantOutcomeError, waitForGrant, withdrawRequest } from '../grants/wait.js';
import { formatTime, info, writeJson } from '../io/output.js';
import { brokerClient } from '../session.js';

/**
 * `gatectl request <target>`: asks for a grant and, unless `--no-wait`, waits for the decision.
 * Exit 0 approved, 5 denied, 6 still pending when the wait ends or expired; Ctrl-C withdraws.
 */
export async function run(
  ctx: CommandContext,
  options: Record<string, unknown>,
  args: string[],
): Promise<number> {
  const target = args[0]!;
  let durationMs: number | null = null;
  if (typeof options.duration === 'string') {
    durationMs = parseDuration(options.duration);
    if (durationMs === null)
      throw new UsageError(`invalid --duration "${options.duration}": use e.g. 30m, 1h, 1h30m`);
  }
  const wait = options.wait;
  let waitMs: number | undefined;
  if (typeof wait === 'string') {
    const ms = parseDuration(wait);
    if (ms === null) throw new UsageError(`invalid --wait "${wait}": use e.g. 10m, 1h`);
    waitMs = ms;
  }
  const client = await brokerClient(ctx);
  const { grant: created } = await client.request<{ grant: GrantView }>('POST', '/v1/grants', {
    target,
    reason: typeof options.reason === 'string' ? options.reason : null,
    duration_ms: durationMs,
  });

  if (created.state === 'pending' && wait === false) {
    if (options.json) writeJson(ctx.io, created);
    else ctx.io.stdout.write(`${created.id}\n`);
    info(ctx.io, `Requested ${target} (${created.id}); waiting for ${approvalProgress(created)}.`);
    info(ctx.io, `Check with \`gatectl grants\`; an approver runs \`gatectl approve ${created.id}\`.`);
    return ExitCode.ok;
  }

  let grant = created;
  if (created.state === 'pending') {
    const p = progress(ctx.io);
    const expires = created.request_expires_at ? Date.parse(created.request_expires_at) : null;
    const status = (g: GrantView) => {
      const left = expires
        ? ` — request expires in ${formatDuration(Math.max(0, expires - Date.now()))}`
        : '';
      return `Waiting for ${approvalProgress(g)} of ${g.id} for ${g.target}${left}`;
    };
    if (!ctx.io.stderr.isTTY) info(ctx.io, `Requested ${target} (${created.id}).`);
    p.update(ctx.io.stderr.isTTY ? () => status(created) : status(created));
    try {
      grant = await waitForGrant(client, created.id, {
        timeoutMs: waitMs,
        signal: ctx.signal,
        onTick: (g) => {
          if (g.state === 'pending') p.update(ctx.io.stderr.isTTY ? () => status(g) : status(g));
        },
      });
    } catch (err) {
      p.stop();
      if (ctx.signal.aborted) {
        await withdraw(ctx, created.id);
        throw err;
      }
      throw err;
    }
    p.stop();
  }

  const problem = grantOutcomeError(grant);
  if (problem) {
    if (options.json) writeJson(ctx.io, grant);
    throw problem;
  }
  if (options.json) writeJson(ctx.io, grant);
  else writeGrant(ctx.io, grant);
  const by = grant.decisions.filter((d) => d.decision === 'approve').map((d) => d.approver);
  info(
    ctx.io,
    `Granted ${grant.target} until ${formatTime(grant.ends_at)}${by.length ? ` (approved by ${by.join(', ')})` : ' (automatic)'}.`,
  );
  return ExitCode.ok;
}

/** Ctrl-C while waiting: the request is withdrawn so nobody approves what is no longer wanted. */
async function withdraw(ctx: CommandContext, id: string): Promise<void> {
  info(ctx.io, await withdrawRequest(brokerClient({ ...ctx, signal: AbortSignal.timeout(5000) }), id, 5000));
}
