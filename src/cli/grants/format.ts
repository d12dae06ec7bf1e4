import type { GrantView } from '../../broker/grants/grant.types.js';
import { formatDuration } from '../../lib/duration.js';
import { formatTime } from '../io/output.js';
import type { IOStreams } from '../io/streams.js';

/** One grant as `field  value` lines on a terminal, `field<TAB>value` off one. */
export function writeGrant(io: IOStreams, g: GrantView): void {
  const approvals = g.decisions.filter((d) => d.decision === 'approve');
  const rows: Array<[string, string]> = [
    ['id', g.id],
    ['target', g.target],
    ['identity', g.identity],
    ['state', g.state],
    ['reason', g.reason ?? ''],
    ['duration', formatDuration(g.duration_ms)],
  ];
  if (g.starts_at) rows.push(['starts_at', formatTime(g.starts_at)]);
  if (g.ends_at) rows.push(['ends_at', formatTime(g.ends_at)]);
  if (g.state === 'pending' && g.request_expires_at)
    rows.push(['request_expires_at', formatTime(g.request_expires_at)]);
  if (approvals.length > 0) rows.push(['approved_by', approvals.map((d) => d.approver).join(', ')]);
  if (g.end_reason) rows.push(['end_reason', g.end_reason]);
  const clean = (v: string) => v.replace(/[\t\r\n]+/g, ' ');
  if (!io.stdout.isTTY) {
    for (const [k, v] of rows) io.stdout.write(`${k}\t${clean(v)}\n`);
    return;
  }
  const w = Math.max(...rows.map(([k]) => k.length));
  for (const [k, v] of rows) io.stdout.write(`${k.padEnd(w)}  ${clean(v)}\n`);
}

/** "approval by dba-oncall (0 of 1)" */
export function approvalProgress(g: GrantView): string {
  const n = g.decisions.filter((d) => d.decision === 'approve').length;
  const who = g.approver_groups?.length ? ` by ${g.approver_groups.join(', ')}` : '';
  return `approval${who} (${n} of ${g.approvals_required})`;
}
