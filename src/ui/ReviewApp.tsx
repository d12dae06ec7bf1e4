import { Box, Text, useApp, useInput, useStdout } from 'ink';
import { useRef, useState } from 'react';
import type { GrantView } from '../broker/grants/grant.types.js';
import { ApprovalQueue } from './ApprovalQueue.js';
import { GrantDetail } from './GrantDetail.js';
import { HelpPanel } from './HelpPanel.js';
import type { ReviewApi } from './review-api.js';
import { TextPrompt } from './TextPrompt.js';
import { useLiveQueue } from './use-live-queue.js';

type Mode =
  | { kind: 'list' }
  | { kind: 'help' }
  | { kind: 'deny'; id: string }
  | { kind: 'revoke'; id: string };

export interface ReviewAppProps {
  api: ReviewApi;
  /** How long one long-poll may wait (tests shorten it). */
  pollMs?: number;
}

/** `gatectl review`: the live approval queue with a detail pane (DESIGN §1, approver). */
export function ReviewApp({ api, pollMs }: ReviewAppProps) {
  const { exit } = useApp();
  const { stdout } = useStdout();
  const queue = useLiveQueue(api, pollMs);
  const [selectedId, setSelectedId] = useState<string | null>(null);
  const [mode, setModeState] = useState<Mode>({ kind: 'list' });
  const [text, setTextState] = useState('');
  const [promptError, setPromptError] = useState<string | null>(null);
  // Key handlers read refs, not render-time values: Ink may still call the handler of an earlier
  // render, and keys typed quickly must land in the state they were typed in.
  const modeRef = useRef<Mode>(mode);
  const textRef = useRef('');
  const setMode = (m: Mode) => {
    modeRef.current = m;
    setModeState(m);
    textRef.current = '';
    setTextState('');
    setPromptError(null);
  };
  const setText = (t: string) => {
    textRef.current = t;
    setTextState(t);
  };
  const [status, setStatus] = useState<string>('');
  const [busy, setBusy] = useState(false);

  const items = queue.items;
  let index = items.findIndex((g) => g.id === selectedId);
  if (index < 0) index = 0;
  const selected: GrantView | undefined = items[index];
  // Key handlers read what is on screen now, even if Ink still holds a handler from an earlier render.
  const current = useRef({ items, index, selected, busy });
  current.current = { items, index, selected, busy };

  const act = (label: string, run: () => Promise<GrantView>) => {
    setBusy(true);
    current.current = { ...current.current, busy: true };
    setStatus(`${label}…`);
    run()
      .then((g) => {
        queue.patch(g);
        setStatus(
          g.state === 'approved' && label.startsWith('Approv')
            ? `Approved ${g.id} (${g.identity} → ${g.target})`
            : g.state === 'pending'
              ? `Recorded your approval of ${g.id}; more approvers needed`
              : `${g.id} is now ${g.state}`,
        );
      })
      .catch((err: Error) => setStatus(`Error: ${err.message}`))
      .finally(() => setBusy(false));
  };

  useInput((input, key) => {
    const m = modeRef.current;
    if (m.kind === 'help') {
      setMode({ kind: 'list' });
      return;
    }
    if (m.kind === 'deny' || m.kind === 'revoke') {
      if (key.escape) return setMode({ kind: 'list' });
      if (key.return) {
        const reason = textRef.current.trim();
        if (m.kind === 'deny' && !reason) return setPromptError('a reason is required');
        setMode({ kind: 'list' });
        if (m.kind === 'deny') act(`Denying ${m.id}`, () => api.deny(m.id, reason));
        else act(`Revoking ${m.id}`, () => api.revoke(m.id, reason || null));
        return;
      }
      if (key.backspace || key.delete) return setText(textRef.current.slice(0, -1));
      if (key.ctrl || key.meta || key.upArrow || key.downArrow || key.leftArrow || key.rightArrow || key.tab)
        return;
      if (input) setText(textRef.current + input.replace(/[\r\n]/g, ''));
      return;
    }
    if (input === 'q' || key.escape) return exit();
    if (input === '?') return setMode({ kind: 'help' });
    const { items, index, selected, busy } = current.current;
    const move = (d: number) => {
      const next = items[Math.min(items.length - 1, Math.max(0, index + d))];
      if (!next) return;
      setSelectedId(next.id);
      current.current = { ...current.current, index: items.indexOf(next), selected: next };
    };
    if (key.upArrow || input === 'k') return move(-1);
    if (key.downArrow || input === 'j') return move(1);
    if (!selected || busy) return;
    if (input === 'a') {
      if (selected.state !== 'pending') return setStatus(`${selected.id} is already approved; r revokes it`);
      return act(`Approving ${selected.id}`, () => api.approve(selected.id));
    }
    if (input === 'd') {
      if (selected.state !== 'pending') return setStatus(`${selected.id} is active; r revokes it`);
      return setMode({ kind: 'deny', id: selected.id });
    }
    if (input === 'r') {
      if (selected.state !== 'approved') return setStatus(`${selected.id} is pending; d denies it`);
      return setMode({ kind: 'revoke', id: selected.id });
    }
  });

  const width = Math.max(40, Math.floor((stdout?.columns ?? 100) * 0.45));
  const pending = items.filter((g) => g.state === 'pending').length;
  return (
    <Box flexDirection="column">
      <Text>
        <Text bold>gatectl review</Text>
        {queue.loaded ? ` — ${pending} pending, ${items.length - pending} active` : ' — loading…'}
        <Text dimColor> ↑/↓ j/k move · a approve · d deny · r revoke · ? help · q quit</Text>
      </Text>
      {mode.kind === 'help' ? (
        <HelpPanel />
      ) : (
        <Box flexDirection="row">
          <ApprovalQueue items={items} selected={index} width={width} />
          <GrantDetail item={selected} />
        </Box>
      )}
      {mode.kind === 'deny' ? (
        <TextPrompt label={`Reason for denying ${mode.id}:`} value={text} error={promptError} />
      ) : null}
      {mode.kind === 'revoke' ? (
        <TextPrompt label={`Reason for revoking ${mode.id} (optional):`} value={text} error={promptError} />
      ) : null}
      {queue.error ? <Text color="red">Broker: {queue.error} (retrying)</Text> : null}
      {status ? <Text>{status}</Text> : null}
    </Box>
  );
}
