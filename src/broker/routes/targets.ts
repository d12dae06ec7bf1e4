import { requireIdentity } from '../auth-guard.js';
import type { BrokerRoutes } from './index.js';

export interface TargetSummary {
  name: string;
  kind: string;
  description: string | null;
  /** Whether the caller's groups may request access. */
  allowed: boolean;
  approval_required: boolean;
  max_duration_ms: number;
}

export const targetRoutes: BrokerRoutes = (app, ctx) => {
  app.get('/v1/targets', async (req) => {
    const me = await requireIdentity(ctx, req);
    const targets: TargetSummary[] = ctx.config.targets.map((t) => {
      const allowed = t.access.groups.some((g) => me.groups.includes(g));
      const auto = t.access.auto_approve.some((g) => me.groups.includes(g));
      return {
        name: t.name,
        kind: t.kind,
        description: t.description ?? null,
        allowed,
        approval_required: Boolean(t.access.approval) && !auto,
        max_duration_ms: t.access.max_duration,
      };
    });
    return { targets };
  });
};
