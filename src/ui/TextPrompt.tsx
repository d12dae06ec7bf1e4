import { Text } from 'ink';

export interface TextPromptProps {
  label: string;
  value: string;
  error: string | null;
}

/**
 * A one-line text prompt. Display only: the keys are handled by the screen's single input
 * handler, so nothing typed right after the prompt opens is lost while Ink re-subscribes.
 */
export function TextPrompt({ label, value, error }: TextPromptProps) {
  return (
    <Text>
      <Text bold>{label}</Text> {value}
      <Text inverse> </Text>
      {error ? <Text color="red"> {error}</Text> : <Text dimColor> (Enter to submit, Esc to cancel)</Text>}
    </Text>
  );
}
