import { type CommandSpec, flatten, type OptionSpec } from './spec.js';

/**
 * The gatectl(1) man page in roff (man macros), generated from the command tree. It carries
 * no date so that regenerating it from an unchanged tree gives identical bytes.
 */
export function manPage(root: CommandSpec, version: string): string {
  const out: string[] = [];
  out.push(
    '.\\" Generated from the command tree by `npm run gen`; do not edit.',
    `.TH GATECTL 1 "" "gatectl ${esc(version)}" "User Commands"`,
    '.SH NAME',
    `gatectl \\- ${esc(root.description)}`,
    '.SH SYNOPSIS',
    '.B gatectl',
    '[\\fIglobal options\\fR] \\fIcommand\\fR [\\fIoptions\\fR] [\\fIarguments\\fR]',
    '.SH DESCRIPTION',
    'gatectl connects engineers, CI jobs and AI agents to production databases and hosts through',
    'one enforcement point, the broker. The broker holds the real credentials, decides who may',
    'connect and which statements may run, masks card numbers before they leave, asks a human',
    'when a statement is risky, and records everything in a hash-chained audit trail.',
    '.PP',
    'Data is printed on standard output; progress, prompts and errors on standard error.',
    'Commands that print data accept \\fB\\-\\-json\\fR.',
    '.SH GLOBAL OPTIONS',
    'Global options come before the command.',
  );
  for (const o of root.options) out.push(...option(o));
  out.push('.SH COMMANDS');
  for (const c of flatten(root).slice(1)) {
    out.push('.SS', `.B gatectl ${esc(c.path.join(' '))}${c.usage ? ` ${esc(c.usage)}` : ''}`);
    out.push('.PP', esc(c.description));
    for (const a of c.args.filter((a) => a.description)) {
      out.push('.TP', `.I ${esc(a.name)}${a.variadic ? '\\&...' : ''}`, esc(a.description));
    }
    for (const o of c.options.filter((o) => o.long !== '--help')) out.push(...option(o));
    if (c.commands.length > 0) {
      out.push('.PP', `Subcommands: ${c.commands.map((s) => `\\fB${esc(s.name)}\\fR`).join(', ')}.`);
    }
  }
  out.push(
    '.SH EXIT STATUS',
    '.TP',
    '.B 0',
    'Success.',
    '.TP',
    '.B 1',
    'An error (the broker is unreachable, the store cannot be opened, \\&...).',
    '.TP',
    '.B 2',
    'A usage error: unknown command or option, a missing argument, an invalid broker configuration.',
    '.TP',
    '.B 4',
    'Not logged in, or the session expired.',
    '.TP',
    '.B 5',
    'Denied by the broker.',
    '.TP',
    '.B 6',
    'An approval is still pending or timed out.',
    '.PP',
    '\\fBgatectl exec\\fR exits with the code of its command.',
    '.SH ENVIRONMENT',
    '.TP',
    '.B GATECTL_BROKER',
    'Broker URL, when \\fB\\-\\-broker\\fR is not given.',
    '.TP',
    '.B GATECTL_PROFILE',
    'Configuration profile, when \\fB\\-\\-profile\\fR is not given.',
    '.TP',
    '.B GATECTL_TOKEN',
    'A broker session token (CI, agents); nothing is stored.',
    '.TP',
    '.B GATECTL_ID_TOKEN',
    'An OIDC ID token from a CI system, exchanged at the broker.',
    '.TP',
    '.B GATECTL_HOME',
    'Configuration directory (default: the platform configuration directory).',
    '.TP',
    '.B NO_COLOR',
    'Disables colour.',
    '.SH FILES',
    '.TP',
    '.I $GATECTL_HOME/config.json',
    'Profiles and their brokers.',
    '.SH SEE ALSO',
    '.BR psql (1),',
    '.BR ssh (1)',
    '',
  );
  return out.join('\n');
}

function option(o: OptionSpec): string[] {
  const words = [o.short, o.long]
    .filter(Boolean)
    .map((w) => `\\fB${esc(w!)}\\fR`)
    .join(', ');
  const value = o.value ? ` \\fI${esc(o.value)}\\fR` : '';
  const extra = [
    o.choices ? `One of: ${o.choices.map(esc).join(', ')}.` : '',
    o.defaultValue !== undefined ? `Default: ${esc(o.defaultValue)}.` : '',
  ].filter(Boolean);
  return ['.TP', `${words}${value}`, `${esc(o.description)}${extra.length ? ` ${extra.join(' ')}` : ''}`];
}

/** Escapes text for roff: backslashes, hyphens, typographic characters and leading dots. */
function esc(text: string): string {
  return text
    .replace(/\\/g, '\\e')
    .replace(/-/g, '\\-')
    .replace(/’/g, '\\(cq')
    .replace(/–/g, '\\(en')
    .replace(/—/g, '\\(em')
    .replace(/…/g, '\\&...')
    .replace(/^([.'])/gm, '\\&$1');
}
