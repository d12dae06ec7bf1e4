import { buildProgram } from '../program.js';
import { bashCompletion } from './bash.js';
import { fishCompletion } from './fish.js';
import { manPage } from './man.js';
import { type CommandSpec, commandSpec } from './spec.js';
import { zshCompletion } from './zsh.js';

export const SHELLS = ['bash', 'zsh', 'fish'] as const;
export type Shell = (typeof SHELLS)[number];

/** The command tree as data; nothing runs, so no command implementation is loaded. */
export function programSpec(version: string): CommandSpec {
  return commandSpec(
    buildProgram(version, async () => {}),
    [],
  );
}

export function completionScript(shell: Shell, version: string): string {
  const spec = programSpec(version);
  if (shell === 'bash') return bashCompletion(spec);
  if (shell === 'zsh') return zshCompletion(spec);
  return fishCompletion(spec);
}

/** Every generated file, by path relative to the repository root (`npm run gen` writes them). */
export function generatedFiles(version: string): Record<string, string> {
  const spec = programSpec(version);
  return {
    'completions/gatectl.bash': bashCompletion(spec),
    'completions/gatectl.zsh': zshCompletion(spec),
    'completions/gatectl.fish': fishCompletion(spec),
    'man/gatectl.1': manPage(spec, version),
  };
}
