import { UsageError } from '../errors.js';
import type { TunnelFlags } from '../tunnel/start-tunnel.js';

const VALUE_FLAGS: Record<string, keyof TunnelFlags> = {
  '-r': 'reason',
  '--reason': 'reason',
  '-d': 'duration',
  '--duration': 'duration',
  '--wait': 'wait',
};

export interface ExecArgs {
  flags: TunnelFlags;
  command: string[];
  /** `-h`/`--help` came before the command: show the help, run nothing. */
  help: boolean;
}

/**
 * Commander stops parsing at the target (everything after it may belong to the command), so
 * `gatectl exec db --wait 10m -- psql` leaves `--wait 10m --` here: our own flags are read up
 * to `--` or the first word that is not one of them, which starts the command. A word that
 * looks like an option but is none of ours is refused rather than run as a command (a typo
 * such as `--reson` would otherwise read as "command not found"); a command whose name starts
 * with `-` goes after `--`.
 */
export function splitExecArgs(tail: string[], parsed: TunnelFlags): ExecArgs {
  const flags: TunnelFlags = { ...parsed };
  let i = 0;
  while (i < tail.length) {
    const a = tail[i]!;
    if (a === '--') return { flags, command: tail.slice(i + 1), help: false };
    if (a === '-h' || a === '--help') return { flags, command: [], help: true };
    const eq = a.indexOf('=');
    const name = a.startsWith('--') && eq > 0 ? a.slice(0, eq) : a;
    const key = VALUE_FLAGS[name];
    if (!key) {
      if (a.startsWith('-'))
        throw new UsageError(`unknown option ${name} for gatectl exec`, {
          hint: 'Its options are -r/--reason, -d/--duration and --wait; the command goes after --: gatectl exec <target> -- <command> [args…]',
        });
      break;
    }
    if (name !== a) {
      flags[key] = a.slice(eq + 1);
      i += 1;
    } else {
      if (i + 1 >= tail.length) throw new UsageError(`option ${a} needs a value`);
      flags[key] = tail[i + 1]!;
      i += 2;
    }
  }
  return { flags, command: tail.slice(i), help: false };
}
