import { requireIdentity } from '../auth-guard.js';
import { getActiveGrant } from '../grants/service.js';
import type { BrokerRoutes } from './index.js';

export interface TargetSummary {
  name: string;
  kind: string;
  description: string | null;
  /** Whether the caller's groups may request access. */
  allowed: boolean;
  approval_required: boolean;
  max_duration_ms: number;
  /** The caller's active grant to this target, if any. */
  grant: { id: string; ends_at: string } | null;
  /** The caller's newest pending request for this target, if any. */
  pending_request: { id: string; created_at: string } | null;
}

export const targetRoutes: BrokerRoutes = (app, ctx) => {
  app.get('/v1/targets', async (req) => {
    const me = await requireIdentity(ctx, req);
    const mine = await ctx.store.db
      .selectFrom('grants')
      .select(['id', 'target', 'created_at'])
      .where('identity', '=', me.id)
      .where('state', '=', 'pending')
      .orderBy('created_at', 'desc')
      .execute();
    const active = new Map<string, { id: string; ends_at: string }>();
    for (const t of ctx.config.targets) {
      const g = await getActiveGrant(ctx, me.id, t.name);
      if (g?.ends_at) active.set(t.name, { id: g.id, ends_at: new Date(g.ends_at).toISOString() });
    }
    const targets: TargetSummary[] = ctx.config.targets.map((t) => {
      const pending = mine.find((g) => g.target === t.name);
      const allowed = t.access.groups.some((g) => me.groups.includes(g));
      const auto = t.access.auto_approve.some((g) => me.groups.includes(g));
      return {
        name: t.name,
        kind: t.kind,
        description: t.description ?? null,
        allowed,
        approval_required: Boolean(t.access.approval) && !auto,
        max_duration_ms: t.access.max_duration,
        grant: active.get(t.name) ?? null,
        pending_request: pending
          ? { id: pending.id, created_at: new Date(pending.created_at).toISOString() }
          : null,
      };
    });
    return { targets };
  });
};
