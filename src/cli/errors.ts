/**
 * Exit codes of the CLI (DESIGN §7). `exec` returns its child's code instead.
 */
export const ExitCode = {
  ok: 0,
  error: 1,
  usage: 2,
  notLoggedIn: 4,
  denied: 5,
  pending: 6,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export interface CliErrorOptions {
  code?: string;
  cause?: unknown;
  exitCode?: number;
  /** A next step for the user, printed on its own line after the message. */
  hint?: string;
}

/** An error meant for the person at the terminal: its message is printed as is, without a stack. */
export class CliError extends Error {
  readonly code: string;
  readonly exitCode: number;
  readonly hint: string | undefined;
  constructor(message: string, options: CliErrorOptions = {}) {
    super(message, { cause: options.cause });
    this.name = new.target.name;
    this.code = options.code ?? 'error';
    this.exitCode = options.exitCode ?? ExitCode.error;
    this.hint = options.hint;
  }
}

export class UsageError extends CliError {
  constructor(message: string, options: Omit<CliErrorOptions, 'exitCode'> = {}) {
    super(message, { code: 'usage', ...options, exitCode: ExitCode.usage });
  }
}

export class NotLoggedInError extends CliError {
  constructor(
    message = 'You are not logged in: run `gatectl login`',
    options: Omit<CliErrorOptions, 'exitCode'> = {},
  ) {
    super(message, { code: 'not_logged_in', ...options, exitCode: ExitCode.notLoggedIn });
  }
}

export class DeniedError extends CliError {
  constructor(message: string, options: Omit<CliErrorOptions, 'exitCode'> = {}) {
    super(message, { code: 'denied', ...options, exitCode: ExitCode.denied });
  }
}

export class PendingError extends CliError {
  constructor(message: string, options: Omit<CliErrorOptions, 'exitCode'> = {}) {
    super(message, { code: 'pending', ...options, exitCode: ExitCode.pending });
  }
}

/** Thrown where a prompt or an interactive UI would be needed but stdin/stdout is not a terminal. */
export class NonInteractiveError extends UsageError {
  constructor(what: string, instead: string) {
    super(`${what} needs an interactive terminal`, {
      code: 'non_interactive',
      hint: `Use ${instead} instead.`,
    });
  }
}
