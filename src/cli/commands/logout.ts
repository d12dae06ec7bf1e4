import { normalizeBrokerUrl, profileName, readCliConfig } from '../config.js';
import type { CommandContext } from '../context.js';
import { credentialStore } from '../session.js';

/** `gatectl logout`: revokes the session's `jti` at the broker, then forgets the tokens everywhere. */
export async function run(ctx: CommandContext): Promise<number> {
  const env = ctx.io.env;
  const config = readCliConfig(env);
  const profile = profileName(ctx.globals, env, config);
  const store = credentialStore(ctx);
  const stored = await store.load(profile);
  if (!stored) {
    await store.remove(profile);
    ctx.io.stderr.write(`Not logged in (profile ${profile}); nothing to do.\n`);
    return 0;
  }
  const broker = normalizeBrokerUrl(stored.login.broker);
  let revoked = false;
  let problem = '';
  try {
    const res = await ctx.fetch(`${broker}/v1/auth/logout`, {
      method: 'POST',
      headers: { authorization: `Bearer ${stored.login.token}`, accept: 'application/json' },
      signal: AbortSignal.any([ctx.signal, AbortSignal.timeout(15_000)]),
    });
    // 401: already expired or revoked, which is what logging out wants anyway.
    revoked = res.ok || res.status === 401;
    if (!revoked) problem = `HTTP ${res.status}`;
  } catch (err) {
    if (ctx.signal.aborted) throw ctx.signal.reason;
    const e = err as Error & { cause?: { code?: string } };
    problem = e.cause?.code ?? e.name;
  }
  await store.remove(profile);
  if (revoked) ctx.io.stderr.write(`✓ Logged out of ${broker}; stored tokens removed.\n`);
  else
    ctx.io.stderr.write(
      `! Could not revoke the session at ${broker} (${problem}); stored tokens removed. The session ends when it expires.\n`,
    );
  return 0;
}
