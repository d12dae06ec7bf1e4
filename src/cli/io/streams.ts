import type { Readable, Writable } from 'node:stream';

/** The terminal a command talks to; injected so commands run in tests without one. */
export interface IOStreams {
  stdin: Readable & { isTTY?: boolean };
  stdout: Writable & { isTTY?: boolean; columns?: number };
  stderr: Writable & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
}

export function systemStreams(): IOStreams {
  return { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env };
}

/** Colour only on a terminal, never with NO_COLOR (https://no-color.org). */
export function colorEnabled(io: IOStreams, stream: 'stdout' | 'stderr' = 'stderr'): boolean {
  if (io.env.NO_COLOR !== undefined && io.env.NO_COLOR !== '') return false;
  if (io.env.FORCE_COLOR !== undefined && io.env.FORCE_COLOR !== '0') return true;
  return Boolean(io[stream].isTTY) && io.env.TERM !== 'dumb';
}

/** GitHub CLI's rule: prompts only when both ends are a terminal and prompting was not disabled. */
export function canPrompt(io: IOStreams): boolean {
  return Boolean(io.stdin.isTTY && io.stdout.isTTY) && !io.env.GATECTL_PROMPT_DISABLED;
}
