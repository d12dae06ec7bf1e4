import { Command, Option } from 'commander';
import type { GlobalOptions } from './context.js';

/**
 * The command tree. Only names, arguments and options live here; every action imports its
 * implementation on first use, so `gatectl --version` loads neither Ink, React, the broker nor
 * any protocol code. Completions and the man page are generated from this tree.
 */
export type Runner = (
  name: string,
  options: Record<string, unknown>,
  args: string[],
  globals: GlobalOptions,
) => Promise<void>;

export function buildProgram(version: string, run: Runner): Command {
  const program = new Command('gatectl')
    .description('Connection broker: just-in-time, approved, masked and recorded access to production')
    .version(version, '-V, --version', 'print the version')
    .option('--broker <url>', 'broker URL (default: the profile’s broker, or $GATECTL_BROKER)')
    .option('--profile <name>', 'configuration profile to use (default: $GATECTL_PROFILE or the current one)')
    .showHelpAfterError('(run with --help for usage)')
    .enablePositionalOptions()
    .configureHelp({ sortSubcommands: false });

  const globals = (): GlobalOptions => program.opts<GlobalOptions>();
  const action =
    (name: string) =>
    async (...params: unknown[]) => {
      // commander passes declared arguments, then the options object, then the command.
      const cmd = params[params.length - 1] as Command;
      const options = params[params.length - 2] as Record<string, unknown>;
      const args = params
        .slice(0, -2)
        .flatMap((a) => (Array.isArray(a) ? a : a === undefined ? [] : [a])) as string[];
      await run(name, { ...options }, args, { ...globals(), ...pickGlobals(cmd) });
    };

  program
    .command('login')
    .description('sign in to the broker (OIDC device flow), or with a CI token on stdin')
    .option('--broker <url>', 'broker to sign in to; remembered in the profile')
    .option('--with-token', 'read an OIDC ID token from stdin instead of opening the device flow')
    .option('--no-browser', 'do not offer to open a browser')
    .action(action('login'));

  program
    .command('logout')
    .description('revoke the session at the broker and forget stored tokens')
    .action(action('logout'));

  program
    .command('status')
    .description('show the broker, identity, groups and session expiry')
    .option('--json', 'print JSON')
    .action(action('status'));

  program
    .command('targets')
    .description('list the targets you may reach and the grants you hold')
    .option('--json', 'print JSON')
    .action(action('targets'));

  program
    .command('request')
    .description('request a just-in-time grant to a target and wait for the decision')
    .argument('<target>', 'target name')
    .option('-r, --reason <text>', 'why you need access (shown to approvers)')
    .option(
      '-d, --duration <duration>',
      'how long the grant should last, e.g. 30m, 1h (capped by the target)',
    )
    .option('--no-wait', 'print the request id and return without waiting')
    .option('--wait <duration>', 'wait at most this long for a decision (default: until it expires)')
    .option('--json', 'print JSON')
    .action(action('request'));

  program
    .command('grants')
    .description('list grants: yours, and those you may approve')
    .option('--pending', 'only pending requests you may approve')
    .option('--all', 'every state, not only pending and active ones')
    .option('--json', 'print JSON')
    .action(action('grants'));

  program
    .command('approve')
    .description('approve a pending request')
    .argument('<id>', 'request id')
    .option('-c, --comment <text>', 'note recorded with the decision')
    .option('--json', 'print JSON')
    .action(action('approve'));

  program
    .command('deny')
    .description('deny a pending request')
    .argument('<id>', 'request id')
    .option('-r, --reason <text>', 'why (shown to the requester)')
    .option('--json', 'print JSON')
    .action(action('deny'));

  program
    .command('revoke')
    .description('revoke an active grant; its open sessions end')
    .argument('<id>', 'grant id')
    .option('-r, --reason <text>', 'why (shown to the holder)')
    .option('--json', 'print JSON')
    .action(action('revoke'));

  program
    .command('review')
    .description('review pending requests in an interactive queue (terminal UI)')
    .action(action('review'));

  program
    .command('connect')
    .description('open a local port to a target through the broker')
    .argument('<target>', 'target name')
    .option('-p, --port <port>', 'local port to listen on (default: a free one)')
    .option('-r, --reason <text>', 'reason used when a grant must be requested')
    .option('-d, --duration <duration>', 'grant duration when one must be requested')
    .option('--wait <duration>', 'wait at most this long for an approval')
    .option('--pg-service <name>', 'write a pg_service.conf entry with this name instead of printing a URI')
    .option('--json', 'print the connection details as JSON')
    .action(action('connect'));

  program
    .command('exec')
    .description('run a command with a private tunnel to a target in its environment (PGHOST, PGPORT, …)')
    .argument('<target>', 'target name')
    .argument('<command...>', 'command and arguments, after --')
    .option('-r, --reason <text>', 'reason used when a grant must be requested')
    .option('-d, --duration <duration>', 'grant duration when one must be requested')
    .option('--wait <duration>', 'wait at most this long for an approval')
    .passThroughOptions()
    .action(async (...params: unknown[]) => {
      // Options after the target reach the command unparsed: `exec db --help` asks for this help.
      if (await execWantsHelp(params[1] as string[] | undefined)) (params.at(-1) as Command).help();
      await action('exec')(...params);
    });

  const broker = program.command('broker').description('run and manage the broker');
  broker
    .command('start')
    .description('start the broker')
    .requiredOption('-c, --config <file>', 'broker configuration (YAML)')
    .action(action('broker-start'));
  broker
    .command('check')
    .description('validate a broker configuration without starting')
    .requiredOption('-c, --config <file>', 'broker configuration (YAML)')
    .action(action('broker-check'));
  broker
    .command('dev')
    .description('start a local broker, identity provider and demo database (development only)')
    .option('--data-dir <dir>', 'where the dev stack keeps its state')
    .option('--port <port>', 'broker port', '7420')
    .option('--target-url <url>', 'use this PostgreSQL server as the demo target instead of an embedded one')
    .action(action('broker-dev'));
  broker
    .command('dev-token')
    .description('print a CI-style OIDC token from the dev stack’s machine issuer (development only)')
    .option('--identity <name>', 'repository-like identity', 'ci-demo')
    .addOption(new Option('--group <group...>', 'groups the token’s claims map to'))
    .option('--data-dir <dir>', 'the dev stack’s data directory')
    .action(action('broker-dev-token'));

  program
    .command('completion')
    .description('print a shell completion script')
    .addArgument(
      new Command().createArgument('<shell>', 'bash, zsh or fish').choices(['bash', 'zsh', 'fish']),
    )
    .action(action('completion'));

  program
    .command('__complete', { hidden: true })
    .description('list dynamic completion values (used by completion scripts)')
    .argument('<kind>', 'what to list: targets')
    .action(action('__complete'));

  return program;
}

function pickGlobals(cmd: Command): Partial<GlobalOptions> {
  const out: Partial<GlobalOptions> = {};
  for (let c: Command | null = cmd; c; c = c.parent) {
    const o = c.opts() as Partial<GlobalOptions>;
    if (o.broker && !out.broker) out.broker = o.broker;
    if (o.profile && !out.profile) out.profile = o.profile;
  }
  return out;
}

/** Whether `-h`/`--help` comes before the command in `gatectl exec <target> …`. */
async function execWantsHelp(tail: string[] = []): Promise<boolean> {
  const { splitExecArgs } = await import('./commands/exec-args.js');
  try {
    return splitExecArgs(tail, {}).help;
  } catch {
    return false; // a usage error: the command itself reports it
  }
}
