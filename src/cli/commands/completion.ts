import { completionScript, SHELLS, type Shell } from '../completion/generate.js';
import type { CommandContext } from '../context.js';
import { UsageError } from '../errors.js';
import { packageVersion } from '../main.js';

/** `gatectl completion bash|zsh|fish`: prints the script generated from the command tree. */
export async function run(
  ctx: CommandContext,
  _options: Record<string, unknown>,
  args: string[],
): Promise<number> {
  const shell = args[0];
  if (!SHELLS.includes(shell as Shell))
    throw new UsageError(`unsupported shell: ${shell} (bash, zsh or fish)`);
  ctx.io.stdout.write(completionScript(shell as Shell, packageVersion()));
  return 0;
}
