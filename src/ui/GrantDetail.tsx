import { Box, Text } from 'ink';
import { formatDuration } from '../lib/duration.js';
import type { QueueItem } from './review-api.js';

function Field({ name, children }: { name: string; children: string }) {
  return (
    <Text wrap="wrap">
      <Text bold>{name.padEnd(10)}</Text>
      {children}
    </Text>
  );
}

/** Everything an approver needs to decide: who, in which groups, what, why, for how long. */
export function GrantDetail({ item }: { item: QueueItem | undefined }) {
  if (!item)
    return (
      <Box flexDirection="column" flexGrow={1} borderStyle="round" paddingX={1}>
        <Text dimColor>Select a request.</Text>
      </Box>
    );
  const approvals = item.decisions.filter((d) => d.decision === 'approve');
  return (
    <Box flexDirection="column" flexGrow={1} borderStyle="round" paddingX={1}>
      <Text bold>{item.id}</Text>
      <Field name="requester">{item.identity}</Field>
      <Field name="groups">{item.groups.join(', ') || '—'}</Field>
      <Field name="target">{item.target}</Field>
      <Field name="reason">{item.reason ?? '—'}</Field>
      <Field name="duration">{formatDuration(item.duration_ms)}</Field>
      <Field name="state">{item.state}</Field>
      {item.state === 'pending' ? (
        <Field name="approvals">{`${approvals.length} of ${item.approvals_required}${approvals.length ? ` (${approvals.map((d) => d.approver).join(', ')})` : ''}`}</Field>
      ) : null}
      {item.state === 'pending' && item.request_expires_at ? (
        <Field name="expires">{item.request_expires_at}</Field>
      ) : null}
      {item.state === 'approved' && item.ends_at ? <Field name="ends">{item.ends_at}</Field> : null}
      {item.sql ? (
        <Box flexDirection="column" marginTop={1}>
          <Text bold>SQL</Text>
          <Text>{item.sql}</Text>
        </Box>
      ) : null}
    </Box>
  );
}
