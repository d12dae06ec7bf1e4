import type { AuthConfigResponse } from '../broker/routes/auth.js';
import { BrokerClient } from '../cli/broker-client.js';
import { readCliConfig, writeCliConfig } from '../cli/config.js';
import type { CommandContext } from '../cli/context.js';
import { CliError, UsageError } from '../cli/errors.js';
import { canPrompt } from '../cli/io/streams.js';
import { exchangeIdToken, storedLoginFrom } from './broker-exchange.js';
import type { CredentialLocation, CredentialStore, StoredLogin } from './credential-store.js';
import { runDeviceFlow } from './device-flow.js';
import { IdpError, idpConfiguration } from './idp-client.js';

export interface LoginOptions {
  broker: string;
  profile: string;
  /** Read an OIDC ID token from stdin instead of running the device flow. */
  withToken: boolean;
  /** Offer to open a browser (on a terminal). */
  browser: boolean;
}

/**
 * `gatectl login`: an ID token from the device flow (people) or stdin (CI), exchanged at the
 * broker for a session token, stored with the IdP refresh token; the broker becomes the profile's.
 */
export async function login(
  ctx: CommandContext,
  store: CredentialStore,
  options: LoginOptions,
): Promise<{ login: StoredLogin; location: CredentialLocation }> {
  const { broker } = options;
  let idToken: string;
  let idp: { refreshToken?: string | undefined; issuer?: string; clientId?: string } = {};
  if (options.withToken) {
    if (ctx.io.stdin.isTTY)
      throw new UsageError('--with-token reads an OIDC ID token from stdin', {
        hint: 'Pipe it in, e.g. `echo "$ID_TOKEN" | gatectl login --with-token`.',
      });
    idToken = (await readAll(ctx.io.stdin, ctx.signal)).trim();
    if (!idToken)
      throw new UsageError('no token on stdin', {
        hint: 'Pipe an OIDC ID token, e.g. `echo "$ID_TOKEN" | gatectl login --with-token`.',
      });
  } else {
    const anonymous = new BrokerClient(broker, ctx, null);
    const cfg = await anonymous.request<AuthConfigResponse>('GET', '/v1/auth/config', undefined, {
      auth: false,
    });
    if (!cfg.issuer || !cfg.client_id)
      throw new CliError(`the broker at ${broker} has no identity provider for people`, {
        code: 'no_idp',
        hint: 'CI jobs and agents: pipe an OIDC ID token to `gatectl login --with-token`.',
      });
    try {
      const config = await idpConfiguration(cfg.issuer, cfg.client_id);
      const result = await runDeviceFlow({
        config,
        scopes: cfg.scopes,
        stderr: ctx.io.stderr,
        prompt: options.browser && canPrompt(ctx.io) ? { stdin: ctx.io.stdin } : null,
        signal: ctx.signal,
      });
      idToken = result.idToken;
      idp = { refreshToken: result.refreshToken, issuer: cfg.issuer, clientId: cfg.client_id };
    } catch (err) {
      if (err instanceof IdpError) throw new CliError(err.message, { code: err.code, cause: err });
      throw err;
    }
  }
  const exchanged = await exchangeIdToken(ctx, broker, idToken);
  const stored = storedLoginFrom(broker, exchanged, idp);
  const location = await store.save(options.profile, stored);
  const config = readCliConfig(ctx.io.env);
  config.profiles[options.profile] = { ...config.profiles[options.profile], broker };
  if (!config.profiles[config.current]) config.current = options.profile;
  writeCliConfig(config, ctx.io.env);
  return { login: stored, location };
}

function readAll(stream: NodeJS.ReadableStream, signal: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    let data = '';
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      data += chunk;
      if (data.length > 64 * 1024) reject(new UsageError('the token on stdin is too large'));
    });
    stream.on('end', () => {
      signal.removeEventListener('abort', onAbort);
      resolve(data);
    });
    stream.on('error', reject);
  });
}
