import { join } from 'node:path';
import { DEV_CI_GROUPS_CLAIM, githubActionsClaims, signDevCiToken } from '../../auth/dev/dev-ci-issuer.js';
import { configDir } from '../config.js';
import type { CommandContext } from '../context.js';
import { CliError } from '../errors.js';

/**
 * `gatectl broker dev-token`: a GitHub-Actions-shaped OIDC token from the dev stack's CI issuer,
 * for `gatectl broker dev-token | gatectl login --with-token` on a laptop. Development only.
 */
export async function run(ctx: CommandContext, options: Record<string, unknown>): Promise<number> {
  const dataDir = typeof options.dataDir === 'string' ? options.dataDir : join(configDir(ctx.io.env), 'dev');
  const identity = typeof options.identity === 'string' ? options.identity : 'ci-demo';
  const groups = Array.isArray(options.group) ? options.group.map(String) : [];
  let token: string;
  try {
    ({ token } = await signDevCiToken(
      dataDir,
      githubActionsClaims(identity, groups.length ? { [DEV_CI_GROUPS_CLAIM]: groups } : {}),
    ));
  } catch (err) {
    throw new CliError(`no dev CI issuer in ${dataDir}`, {
      code: 'no_dev_issuer',
      cause: err,
      hint: 'Start the dev stack first (`gatectl broker dev`), or pass --data-dir.',
    });
  }
  ctx.io.stdout.write(`${token}\n`);
  return 0;
}
