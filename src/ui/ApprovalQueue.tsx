import { Box, Text } from 'ink';
import type { GrantView } from '../broker/grants/grant.types.js';

export interface ApprovalQueueProps {
  items: readonly GrantView[];
  selected: number;
  width: number;
}

/** The list: one line per request or active grant, the selected one marked with `›`. */
export function ApprovalQueue({ items, selected, width }: ApprovalQueueProps) {
  return (
    <Box flexDirection="column" width={width} borderStyle="round" paddingX={1}>
      <Text bold>Queue</Text>
      {items.length === 0 ? <Text dimColor>Nothing to review.</Text> : null}
      {items.map((g, i) => {
        const mark = i === selected ? '›' : ' ';
        const state = g.state === 'pending' ? 'PENDING' : 'ACTIVE ';
        return (
          <Text key={g.id} inverse={i === selected} wrap="truncate-end">
            {`${mark} ${state} ${g.target}  ${g.identity}`}
          </Text>
        );
      })}
    </Box>
  );
}
