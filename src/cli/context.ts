import type { IOStreams } from './io/streams.js';

export interface GlobalOptions {
  broker?: string;
  profile?: string;
}

/** What every command receives: the terminal, the global flags and injectable dependencies. */
export interface CommandContext {
  io: IOStreams;
  globals: GlobalOptions;
  fetch: typeof fetch;
  now: () => Date;
  /** Aborted on the first SIGINT/SIGTERM; long waits must honour it. */
  signal: AbortSignal;
}

/** Shape of every module under `commands/`. */
export interface CommandModule {
  run(ctx: CommandContext, options: Record<string, unknown>, args: string[]): Promise<number | undefined>;
}
