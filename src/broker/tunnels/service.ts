import type { BrokerTokenClaims } from '../../auth/broker-token.js';
import { newId } from '../../lib/ids.js';
import type { TunnelsTable } from '../../store/schema.types.js';
import type { PostgresTargetConfig } from '../config/schema.js';
import type { BrokerContext } from '../context.js';
import { findTarget, type GrantRow, getActiveGrant } from '../grants/service.js';
import { HttpError } from '../http-error.js';
import { postgresEngine } from './postgres-engine.js';
import { TUNNEL_USER, type TunnelCreated, type TunnelView } from './tunnel.types.js';
import { newTunnelSecret } from './tunnel-secret.js';

export type TunnelRow = TunnelsTable;

export function tunnelView(ctx: BrokerContext, row: TunnelRow): TunnelView {
  const target = findTarget(ctx, row.target) as PostgresTargetConfig;
  return {
    id: row.id,
    target: row.target,
    grant_id: row.grant_id,
    expires_at: new Date(row.expires_at).toISOString(),
    database: target.database,
    user: TUNNEL_USER,
  };
}

/**
 * Opens a tunnel for the caller's active grant to a PostgreSQL target. The one-time secret is
 * returned once; the store keeps only its SCRAM verifier, so the store cannot replay it.
 */
export async function createTunnel(
  ctx: BrokerContext,
  me: BrokerTokenClaims,
  targetName: string,
  origin?: string,
): Promise<TunnelCreated> {
  const target = findTarget(ctx, targetName);
  if (target.kind !== 'postgres')
    throw new HttpError(400, 'unsupported_target', `${target.name} is a ${target.kind} target, not postgres`);
  const grant = await getActiveGrant(ctx, me.id, target.name);
  if (!grant) {
    await ctx.audit({
      type: 'tunnel.refused',
      actor: me.id,
      outcome: 'failure',
      origin: origin ?? null,
      resource: target.name,
      data: { reason: 'no_active_grant' },
    });
    throw new HttpError(
      403,
      'no_active_grant',
      `you hold no active grant to ${target.name}: run \`gatectl request ${target.name}\``,
    );
  }
  const secret = newTunnelSecret();
  const { createScramVerifier } = await postgresEngine();
  const row: TunnelRow = {
    id: newId('tn'),
    grant_id: grant.id,
    identity: me.id,
    target: target.name,
    secret_verifier: createScramVerifier(secret),
    created_at: ctx.now(),
    expires_at: grant.ends_at!,
    closed_at: null,
  };
  await ctx.store.db.insertInto('tunnels').values(row).execute();
  await ctx.audit({
    type: 'tunnel.open',
    actor: me.id,
    origin: origin ?? null,
    resource: target.name,
    data: { tunnel_id: row.id, grant_id: grant.id },
  });
  return { tunnel: tunnelView(ctx, row), secret };
}

export async function getTunnel(ctx: BrokerContext, id: string): Promise<TunnelRow | undefined> {
  return ctx.store.db.selectFrom('tunnels').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Marks a tunnel closed (idempotent); returns whether it was open. */
export async function closeTunnel(ctx: BrokerContext, id: string, reason: string): Promise<boolean> {
  const res = await ctx.store.db
    .updateTable('tunnels')
    .set({ closed_at: ctx.now() })
    .where('id', '=', id)
    .where('closed_at', 'is', null)
    .executeTakeFirst();
  const closed = Number(res.numUpdatedRows) > 0;
  if (closed) {
    const row = await getTunnel(ctx, id);
    await ctx.audit({
      type: 'tunnel.close',
      actor: row?.identity ?? null,
      resource: row?.target ?? null,
      data: { tunnel_id: id, reason },
    });
  }
  return closed;
}

/** Closes every open tunnel of a grant that is over. */
export async function closeTunnelsOfGrant(
  ctx: BrokerContext,
  grantId: string,
  reason: string,
): Promise<void> {
  const open = await ctx.store.db
    .selectFrom('tunnels')
    .select('id')
    .where('grant_id', '=', grantId)
    .where('closed_at', 'is', null)
    .execute();
  for (const t of open) await closeTunnel(ctx, t.id, reason);
}

/** Why a grant no longer allows traffic, as a sentence for the client's FATAL message; null while it does. */
export function grantEndedReason(
  grant: GrantRow | undefined,
  now: number,
): { code: string; message: string } | null {
  if (!grant) return { code: 'grant_missing', message: 'the grant no longer exists' };
  if (grant.state === 'revoked') {
    const why = grant.end_reason ?? (grant.revoked_by ? `revoked by ${grant.revoked_by}` : null);
    return {
      code: 'grant_revoked',
      message: `access to ${grant.target} was revoked${why ? ` (${why})` : ''}`,
    };
  }
  // The broker's sweeper marks a grant whose time ran out as `ended`: that is an expiry.
  const ranOut = grant.ends_at !== null && grant.ends_at <= now;
  if (
    ranOut &&
    (grant.state === 'approved' || (grant.state === 'ended' && (grant.ended_at ?? 0) >= grant.ends_at!))
  )
    return {
      code: 'grant_expired',
      message: `access to ${grant.target} expired at ${new Date(grant.ends_at!).toISOString()}: request a new grant`,
    };
  if (grant.state !== 'approved')
    return {
      code: `grant_${grant.state}`,
      message: `access to ${grant.target} ended (grant ${grant.state}${grant.end_reason ? `: ${grant.end_reason}` : ''})`,
    };
  return null;
}
