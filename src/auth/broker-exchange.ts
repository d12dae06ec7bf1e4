import type { AuthTokenResponse } from '../broker/routes/auth.js';
import type { CommandContext } from '../cli/context.js';
import { CliError, NotLoggedInError } from '../cli/errors.js';
import type { StoredLogin } from './credential-store.js';

/**
 * `POST /v1/auth/token`: trades an OIDC ID token for a broker session token. A refusal becomes
 * exit 4 with the broker's short reason; the token itself is never part of a message.
 */
export async function exchangeIdToken(
  ctx: Pick<CommandContext, 'fetch' | 'signal'>,
  broker: string,
  idToken: string,
): Promise<AuthTokenResponse> {
  let res: Response;
  try {
    res = await ctx.fetch(`${broker}/v1/auth/token`, {
      method: 'POST',
      headers: { accept: 'application/json', 'content-type': 'application/json' },
      body: JSON.stringify({ id_token: idToken }),
      signal: AbortSignal.any([ctx.signal, AbortSignal.timeout(30_000)]),
    });
  } catch (err) {
    if (ctx.signal.aborted) throw ctx.signal.reason;
    const e = err as Error & { cause?: { code?: string } };
    throw new CliError(`cannot reach the broker at ${broker} (${e.cause?.code ?? e.name})`, {
      code: 'broker_unreachable',
      hint: 'Check the URL and that the broker is running.',
    });
  }
  const body = (await res.json().catch(() => ({}))) as Partial<AuthTokenResponse> & {
    error?: { code?: string; message?: string };
  };
  if (res.ok && typeof body.token === 'string' && body.identity) return body as AuthTokenResponse;
  const code = body.error?.code ?? `http_${res.status}`;
  const reason = body.error?.message ?? `HTTP ${res.status}`;
  if (res.status === 401) throw new NotLoggedInError(`The broker refused the ID token: ${reason}`, { code });
  throw new CliError(`The broker could not sign you in: ${reason}`, { code });
}

export function storedLoginFrom(
  broker: string,
  exchanged: AuthTokenResponse,
  idp: { refreshToken?: string | undefined; issuer?: string; clientId?: string } = {},
): StoredLogin {
  return {
    broker,
    token: exchanged.token,
    expires_at: exchanged.expires_at,
    identity: exchanged.identity.id,
    groups: exchanged.identity.groups,
    ...(idp.refreshToken ? { refresh_token: idp.refreshToken } : {}),
    ...(idp.refreshToken && idp.issuer ? { issuer: idp.issuer } : {}),
    ...(idp.refreshToken && idp.clientId ? { client_id: idp.clientId } : {}),
  };
}
