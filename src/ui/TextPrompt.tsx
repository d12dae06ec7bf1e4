import { Text, useInput } from 'ink';
import { useRef, useState } from 'react';

export interface TextPromptProps {
  label: string;
  /** Called with the trimmed text on Enter; return an error message to keep the prompt open. */
  onSubmit(text: string): string | null;
  onCancel(): void;
}

/** A one-line text input: type, Backspace, Enter submits, Esc cancels. */
export function TextPrompt({ label, onSubmit, onCancel }: TextPromptProps) {
  const [value, setValue] = useState('');
  const [error, setError] = useState<string | null>(null);
  // The typed text as of the last key, independent of which render's handler Ink calls.
  const typed = useRef('');
  const update = (next: string) => {
    typed.current = next;
    setValue(next);
  };
  useInput((input, key) => {
    if (key.escape) return onCancel();
    if (key.return) {
      const problem = onSubmit(typed.current.trim());
      setError(problem);
      return;
    }
    if (key.backspace || key.delete) return update(typed.current.slice(0, -1));
    if (key.ctrl || key.meta || key.upArrow || key.downArrow || key.leftArrow || key.rightArrow || key.tab)
      return;
    if (input) update(typed.current + input.replace(/[\r\n]/g, ''));
  });
  return (
    <Text>
      <Text bold>{label}</Text> {value}
      <Text inverse> </Text>
      {error ? <Text color="red"> {error}</Text> : <Text dimColor> (Enter to submit, Esc to cancel)</Text>}
    </Text>
  );
}
