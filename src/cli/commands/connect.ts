import type { CommandContext } from '../context.js';
import { UsageError } from '../errors.js';
import { formatTime } from '../io/output.js';
import { connectionUri } from '../tunnel/connection-info.js';
import { removeServiceEntry, serviceFilePath, writeServiceEntry } from '../tunnel/pg-service.js';
import { startTunnel, type TunnelFlags } from '../tunnel/start-tunnel.js';
import { StatusLine, tunnelSummary } from '../tunnel/status-line.js';
import { grantEndNotice, watchGrant } from '../tunnel/watch-grant.js';

interface ConnectOptions extends TunnelFlags {
  json?: boolean;
  pgService?: string;
}

/** Codes with which the broker refuses a connection because the tunnel can no longer be used. */
const FINAL_REFUSALS = /^(grant_|tunnel_closed|unknown_tunnel)/;

/**
 * `gatectl connect <target>`: a local port for any PostgreSQL client, until Ctrl-C or the end of
 * the grant. The connection URI (with the one-time secret) goes to stdout once; status to stderr.
 */
export async function run(
  ctx: CommandContext,
  options: Record<string, unknown>,
  args: string[],
): Promise<number> {
  const o = options as ConnectOptions;
  const target = args[0];
  if (!target) throw new UsageError('usage: gatectl connect <target>');
  if (o.pgService !== undefined && !/^[A-Za-z0-9_.-]+$/.test(o.pgService))
    throw new UsageError(`invalid --pg-service "${o.pgService}": letters, digits, ., _ and - only`);
  const stderr = (m: string) => ctx.io.stderr.write(`${m}\n`);
  const tunnel = await startTunnel(ctx, target, o, stderr);
  const { info, created } = tunnel;
  const uri = connectionUri(info);
  const serviceFile = o.pgService ? serviceFilePath(ctx.io.env) : undefined;
  try {
    if (o.pgService && serviceFile) writeServiceEntry(serviceFile, o.pgService, info);
    if (o.json) {
      ctx.io.stdout.write(
        `${JSON.stringify({
          tunnel_id: created.tunnel.id,
          target: created.tunnel.target,
          grant_id: created.tunnel.grant_id,
          expires_at: created.tunnel.expires_at,
          host: info.host,
          port: info.port,
          database: info.database,
          user: info.user,
          password: info.password,
          uri,
          ...(o.pgService ? { service: o.pgService, service_file: serviceFile } : {}),
        })}\n`,
      );
    } else if (o.pgService) {
      ctx.io.stdout.write(`psql service=${o.pgService}\n`);
    } else if (ctx.io.stdout.isTTY) {
      ctx.io.stdout.write(`${uri}\n\n  psql '${uri}'\n\n`);
    } else {
      ctx.io.stdout.write(`${uri}\n`);
    }
  } catch (err) {
    await tunnel.close();
    throw err;
  }

  const until = new Date(created.tunnel.expires_at);
  stderr(
    `Tunnel to ${target} on ${info.host}:${info.port} until ${formatTime(until)}${o.pgService ? ` (service "${o.pgService}" in ${serviceFile})` : ''}. Press Ctrl-C to close.`,
  );
  const status = new StatusLine(ctx.io, tunnel.local, `${target} ${info.host}:${info.port}`);

  const watch = new AbortController();
  const ended = await new Promise<{ code: number; message?: string }>((resolve) => {
    const onAbort = () => resolve({ code: 0 });
    if (ctx.signal.aborted) onAbort();
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    const timer = setTimeout(
      () =>
        resolve({
          code: 0,
          message: `The grant to ${target} ended at ${formatTime(until)}; tunnel closed.`,
        }),
      Math.min(Math.max(0, until.getTime() - Date.now() + 500), 2 ** 31 - 1),
    );
    timer.unref();
    tunnel.local.on((e) => {
      if (e.kind === 'refused' && FINAL_REFUSALS.test(e.code)) {
        clearTimeout(timer);
        resolve({ code: 1, message: `The tunnel to ${target} can no longer be used: ${e.message}` });
      }
    });
    // A revocation is heard at once, not only at the next local connection.
    const signal = AbortSignal.any([ctx.signal, watch.signal]);
    watchGrant(tunnel.client, created.tunnel.grant_id, signal).then(
      (grant) => {
        clearTimeout(timer);
        resolve(grantEndNotice(grant));
      },
      (err: unknown) => {
        if (signal.aborted) return;
        stderr(
          `Warning: cannot watch the grant to ${target} (${(err as Error).message}); the tunnel stays open until ${formatTime(until)}.`,
        );
      },
    );
  });
  watch.abort();
  status.stop();
  if (ended.message) stderr(ended.message);
  await tunnel.close();
  if (!ended.message) stderr(`Closed the tunnel to ${target} (${tunnelSummary(tunnel.local.stats)}).`);
  if (o.pgService && serviceFile) {
    try {
      removeServiceEntry(serviceFile, o.pgService, info.port);
    } catch {}
  }
  return ended.code;
}
