import { DEV_USERS } from '../../auth/dev/dev-idp.js';
import type { DevStack } from './stack.js';

/** What `gatectl broker dev` prints once everything is up (to stderr: it is not data). */
export function devBanner(stack: DevStack, color: boolean): string {
  const bold = (s: string) => (color ? `\x1b[1m${s}\x1b[22m` : s);
  const warn = (s: string) => (color ? `\x1b[1;33m${s}\x1b[0m` : s);
  const brokerUrl = stack.broker.url;
  const users = Object.entries(DEV_USERS)
    .map(
      ([name, u]) =>
        `    ${name.padEnd(6)} ${u.groups.join(', ')}${name === 'bob' ? ' (approves demo-db requests)' : ''}`,
    )
    .join('\n');
  const line = '='.repeat(78);
  return `
${warn(line)}
${warn('  DEV ONLY: users sign in without a password, credentials are throwaway and')}
${warn('  everything listens on 127.0.0.1. Never expose this stack or reuse its data.')}
${warn(line)}

  ${bold('broker')}             ${brokerUrl}
  ${bold('identity provider')}  ${stack.idp.url}   (device flow; pick a user, no password)
  ${bold('demo database')}      ${stack.demo.adminUrl}
                     (superuser URL for psql; gatectl users reach it as target demo-db)
  ${bold('data')}               ${stack.dataDir}
                     (config broker.yaml, log broker.log)

  ${bold('dev users')}
${users}

  ${bold('try')}
    gatectl login --broker ${brokerUrl}      # sign in as alice
    gatectl targets
    gatectl request demo-db --reason "look at a failed order"
    gatectl grants --pending                  # as bob, in another profile
    gatectl connect demo-db
    psql '${stack.demo.adminUrl}' -c 'select holder, pan from payments.cards limit 3'
    gatectl broker dev-token --group deployers | gatectl login --with-token --broker ${brokerUrl}

  Ctrl-C stops everything.
`;
}
