import { login } from '../../auth/login.js';
import { normalizeBrokerUrl, profileName, readCliConfig } from '../config.js';
import type { CommandContext } from '../context.js';
import { NotLoggedInError } from '../errors.js';
import { credentialStore } from '../session.js';

export async function run(ctx: CommandContext, options: Record<string, unknown>): Promise<number> {
  const env = ctx.io.env;
  const config = readCliConfig(env);
  const profile = profileName(ctx.globals, env, config);
  const raw = ctx.globals.broker ?? env.GATECTL_BROKER ?? config.profiles[profile]?.broker;
  if (!raw)
    throw new NotLoggedInError('No broker to log in to', {
      hint: 'Run `gatectl login --broker https://broker.example.com`.',
    });
  const broker = normalizeBrokerUrl(raw);
  const { login: stored, location } = await login(ctx, credentialStore(ctx), {
    broker,
    profile,
    withToken: options.withToken === true,
    browser: options.browser !== false,
  });
  const groups = stored.groups.length ? stored.groups.join(', ') : 'none';
  ctx.io.stderr.write(
    `✓ Logged in to ${broker} as ${stored.identity} (groups: ${groups}); token stored in ${
      location === 'keychain' ? 'the OS keychain' : 'the credentials file'
    }\n`,
  );
  return 0;
}
