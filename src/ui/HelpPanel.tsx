import { Box, Text } from 'ink';

export const KEYS: ReadonlyArray<[string, string]> = [
  ['↑/↓, k/j', 'move'],
  ['a', 'approve the selected request'],
  ['d', 'deny it (asks for a reason)'],
  ['r', 'revoke the selected active grant'],
  ['?', 'show or hide this help'],
  ['q', 'quit'],
];

export function HelpPanel() {
  return (
    <Box flexDirection="column" borderStyle="round" paddingX={1}>
      <Text bold>Keys</Text>
      {KEYS.map(([k, v]) => (
        <Text key={k}>
          <Text bold>{k.padEnd(10)}</Text>
          {v}
        </Text>
      ))}
      <Text dimColor>Press any key to close.</Text>
    </Box>
  );
}
