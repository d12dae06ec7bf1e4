import type { ApprovalKind, ApprovalRequestRow } from '../approvals/approval.types.js';
import { approvalKinds, registerApprovalKind } from '../approvals/kinds.js';
import { expireDue, type KindHandler } from '../approvals/requests.js';
import type { BrokerContext } from '../context.js';
import { notifyGrant } from '../notify.js';
import { grantKindHandler } from './decisions.js';
import { announce, grantView } from './service.js';

export interface Sweeper {
  /** Runs one pass now (tests, shutdown); resolves when it is done. */
  tick(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Once a second: expires undecided grant requests (`approvals.request_ttl`) and ends approved
 * grants whose time is up. Every transition is a conditional update, so several replicas may
 * sweep the same store: exactly one wins each row and only the winner audits and announces it.
 */
export function startGrantSweeper(ctx: BrokerContext, intervalMs = 1000): Sweeper {
  registerApprovalKind(ctx, 'grant', { handler: grantKindHandler, onExpired: grantExpired });
  let running: Promise<void> | null = null;
  let stopped = false;
  const tick = (): Promise<void> => {
    if (running) return running;
    running = sweep(ctx)
      .catch((err) => ctx.log.warn({ err }, 'grant sweeper pass failed'))
      .finally(() => {
        running = null;
      });
    return running;
  };
  const timer = setInterval(() => {
    if (!stopped) void tick();
  }, intervalMs);
  timer.unref();
  const stop = async () => {
    stopped = true;
    clearInterval(timer);
    if (running) await running;
  };
  ctx.onClose(stop);
  return { tick, stop };
}

async function grantExpired(ctx: BrokerContext, request: ApprovalRequestRow): Promise<void> {
  const grant = await ctx.store.db
    .selectFrom('grants')
    .selectAll()
    .where('request_id', '=', request.id)
    .executeTakeFirst();
  if (!grant) return;
  await ctx.audit({
    type: 'grant.expired',
    actor: null,
    resource: grant.target,
    data: { grant_id: grant.id, request_id: request.id, requester: grant.identity },
  });
  await announce(ctx, grant.id);
  notifyGrant(ctx, 'grant.expired', await grantView(ctx, grant), null);
}

async function sweep(ctx: BrokerContext): Promise<void> {
  const kinds = approvalKinds(ctx);
  const handlers: Partial<Record<ApprovalKind, KindHandler>> = {};
  for (const [kind, reg] of kinds) handlers[kind] = reg.handler;
  for (const request of await expireDue(ctx, handlers)) {
    try {
      await kinds.get(request.kind)?.onExpired(ctx, request);
    } catch (err) {
      ctx.log.warn({ err, request_id: request.id }, 'after-expiry step failed');
    }
  }

  const now = ctx.now();
  const due = await ctx.store.db
    .selectFrom('grants')
    .selectAll()
    .where('state', '=', 'approved')
    .where('ends_at', '<=', now)
    .limit(100)
    .execute();
  for (const g of due) {
    const res = await ctx.store.db
      .updateTable('grants')
      .set({ state: 'ended', ended_at: now, end_reason: 'the grant’s time is over' })
      .where('id', '=', g.id)
      .where('state', '=', 'approved')
      .executeTakeFirst();
    if (Number(res.numUpdatedRows) !== 1) continue;
    await ctx.audit({
      type: 'grant.ended',
      actor: null,
      resource: g.target,
      data: { grant_id: g.id, holder: g.identity, ends_at: g.ends_at },
    });
    await announce(ctx, g.id);
  }
}
