import { exchangeIdToken, storedLoginFrom } from '../auth/broker-exchange.js';
import { CredentialStore, type StoredLogin } from '../auth/credential-store.js';
import { idpConfiguration, refreshIdToken } from '../auth/idp-client.js';
import { BrokerClient, type TokenSource } from './broker-client.js';
import { configDir, resolveBroker } from './config.js';
import type { CommandContext } from './context.js';
import { NotLoggedInError } from './errors.js';

export const SESSION_EXPIRED_MESSAGE = 'Your gatectl session expired: run `gatectl login`';

/** Where the token of this invocation comes from (shown by `gatectl status`, never the value). */
export type TokenOrigin = 'env:GATECTL_TOKEN' | 'keychain' | 'file' | 'env:GATECTL_ID_TOKEN';

export interface Session extends TokenSource {
  origin: TokenOrigin;
  /** The fallback file, when the stored login lives there. */
  file?: string;
}

/** Renew a stored token this long before it expires, so a command never starts with a dying token. */
const RENEW_MARGIN_MS = 30_000;

export function credentialStore(ctx: CommandContext): CredentialStore {
  return new CredentialStore({ dir: configDir(ctx.io.env), env: ctx.io.env, stderr: ctx.io.stderr });
}

/**
 * Where a command's broker token comes from, in order: $GATECTL_TOKEN (a broker token), the
 * stored login of the profile (renewed with the IdP refresh token), $GATECTL_ID_TOKEN (a CI ID
 * token exchanged on the fly).
 */
export async function tokenSource(
  ctx: CommandContext,
  broker: string,
  profile: string,
): Promise<Session | null> {
  const env = ctx.io.env;
  if (env.GATECTL_TOKEN) {
    const t = env.GATECTL_TOKEN;
    return { origin: 'env:GATECTL_TOKEN', get: async () => t };
  }
  const store = credentialStore(ctx);
  const stored = await store.load(profile);
  if (stored && stored.login.broker === broker)
    return storedSession(ctx, store, profile, stored.login, stored.location);
  if (env.GATECTL_ID_TOKEN) {
    const idToken = env.GATECTL_ID_TOKEN;
    let exchanged: Promise<string> | undefined;
    return {
      origin: 'env:GATECTL_ID_TOKEN',
      get: () => {
        exchanged ??= exchangeIdToken(ctx, broker, idToken).then((r) => r.token);
        return exchanged;
      },
    };
  }
  return null;
}

function storedSession(
  ctx: CommandContext,
  store: CredentialStore,
  profile: string,
  initial: StoredLogin,
  location: 'keychain' | 'file',
): Session {
  let login = initial;
  let renewing: Promise<string | null> | undefined;
  const renew = (): Promise<string | null> => {
    renewing ??= (async () => {
      if (!login.refresh_token || !login.issuer || !login.client_id) return null;
      try {
        const config = await idpConfiguration(login.issuer, login.client_id);
        const fresh = await refreshIdToken(config, login.refresh_token);
        const exchanged = await exchangeIdToken(ctx, login.broker, fresh.idToken);
        login = storedLoginFrom(login.broker, exchanged, {
          refreshToken: fresh.refreshToken ?? login.refresh_token,
          issuer: login.issuer,
          clientId: login.client_id,
        });
        await store.save(profile, login, { notice: false });
        return login.token;
      } catch (err) {
        if (ctx.signal.aborted) throw ctx.signal.reason;
        throw new NotLoggedInError(SESSION_EXPIRED_MESSAGE, { code: 'session_expired', cause: err });
      }
    })();
    return renewing;
  };
  return {
    origin: location,
    ...(location === 'file' ? { file: store.file } : {}),
    async get() {
      const expiresAt = Date.parse(login.expires_at);
      if (login.refresh_token && expiresAt - ctx.now().getTime() < RENEW_MARGIN_MS) return renew();
      return login.token;
    },
    renew,
  };
}

/** A client for the broker this invocation talks to, authenticated as its logged-in identity. */
export async function brokerClient(ctx: CommandContext): Promise<BrokerClient> {
  const { url, profile } = resolveBroker(ctx.globals, ctx.io.env);
  return new BrokerClient(url, ctx, await tokenSource(ctx, url, profile));
}
