import * as oidc from 'openid-client';

export class IdpError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options: { cause?: unknown } = {}) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h);
}

/**
 * Discovers the IdP as a public client. Plain HTTP is allowed for loopback issuers only (the
 * dev IdP, tests); openid-client refuses it otherwise, and so do we.
 */
export async function idpConfiguration(
  issuer: string,
  clientId: string,
  options: { fetch?: typeof fetch; timeoutS?: number } = {},
): Promise<oidc.Configuration> {
  let url: URL;
  try {
    url = new URL(issuer);
  } catch (err) {
    throw new IdpError('bad_issuer', `the broker advertises an invalid issuer URL: ${issuer}`, {
      cause: err,
    });
  }
  const insecure = url.protocol === 'http:';
  if (insecure && !isLoopbackHost(url.hostname))
    throw new IdpError('insecure_issuer', `refusing the identity provider ${issuer}: it must use https`);
  try {
    return await oidc.discovery(url, clientId, undefined, oidc.None(), {
      timeout: options.timeoutS ?? 15,
      ...(insecure ? { execute: [oidc.allowInsecureRequests] } : {}),
      ...(options.fetch ? { [oidc.customFetch]: options.fetch } : {}),
    });
  } catch (err) {
    throw new IdpError('idp_unreachable', `cannot reach the identity provider at ${issuer}`, { cause: err });
  }
}

/** Trades an IdP refresh token for a fresh ID token (and possibly a rotated refresh token). */
export async function refreshIdToken(
  config: oidc.Configuration,
  refreshToken: string,
): Promise<{ idToken: string; refreshToken: string | undefined }> {
  let tokens: Awaited<ReturnType<typeof oidc.refreshTokenGrant>>;
  try {
    tokens = await oidc.refreshTokenGrant(config, refreshToken);
  } catch (err) {
    const code = (err as { error?: string }).error;
    throw new IdpError(
      code ?? 'refresh_failed',
      `the identity provider refused to renew the session (${code ?? 'error'})`,
      {
        cause: err,
      },
    );
  }
  if (!tokens.id_token)
    throw new IdpError('no_id_token', 'the identity provider returned no ID token on renewal');
  return { idToken: tokens.id_token, refreshToken: tokens.refresh_token };
}
