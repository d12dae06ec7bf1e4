import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import * as oidc from 'openid-client';
import { IdpError } from './idp-client.js';

export interface DeviceFlowOptions {
  config: oidc.Configuration;
  scopes: string[];
  stderr: NodeJS.WritableStream;
  /** A terminal to offer "Press Enter to open the browser" on; null off a terminal. */
  prompt: { stdin: NodeJS.ReadableStream } | null;
  /** Aborts polling (Ctrl-C). */
  signal: AbortSignal;
  /** Opens a URL in a browser; defaults to the platform's opener. */
  openBrowser?: (url: string) => void;
}

export interface DeviceFlowResult {
  idToken: string;
  refreshToken: string | undefined;
}

/**
 * The OAuth 2.0 device authorization grant, with GitHub CLI's wording on stderr. Polling
 * follows the IdP's `interval` and adds 5 s on `slow_down` (openid-client does both).
 * @see https://www.rfc-editor.org/rfc/rfc8628#section-3.5
 */
export async function runDeviceFlow(options: DeviceFlowOptions): Promise<DeviceFlowResult> {
  const { config, stderr, signal } = options;
  let auth: oidc.DeviceAuthorizationResponse;
  try {
    auth = await oidc.initiateDeviceAuthorization(config, { scope: options.scopes.join(' ') });
  } catch (err) {
    throw new IdpError(
      'device_authorization_failed',
      describe(err, 'the identity provider refused the sign-in'),
      {
        cause: err,
      },
    );
  }
  stderr.write(`! First copy your one-time code: ${auth.user_code}\n`);
  const target = auth.verification_uri_complete ?? auth.verification_uri;
  let rl: ReturnType<typeof createInterface> | undefined;
  if (options.prompt) {
    stderr.write(`Press Enter to open ${auth.verification_uri} in your browser... `);
    rl = createInterface({ input: options.prompt.stdin });
    rl.once('line', () => {
      (options.openBrowser ?? openInBrowser)(target);
      stderr.write(`\nOpened ${auth.verification_uri}; waiting for you to finish signing in...\n`);
    });
  } else {
    stderr.write(`Open this URL to continue in your web browser: ${auth.verification_uri}\n`);
  }
  if (auth.verification_uri_complete)
    stderr.write(`  (or this one, with the code filled in: ${auth.verification_uri_complete})\n`);

  const polling = AbortSignal.any([signal, AbortSignal.timeout(auth.expires_in * 1000)]);
  try {
    const tokens = await oidc.pollDeviceAuthorizationGrant(config, auth, undefined, { signal: polling });
    if (!tokens.id_token) throw new IdpError('no_id_token', 'the identity provider returned no ID token');
    return { idToken: tokens.id_token, refreshToken: tokens.refresh_token };
  } catch (err) {
    if (signal.aborted) throw signal.reason;
    if (err instanceof IdpError) throw err;
    const code = (err as { error?: string }).error;
    if (code === 'access_denied')
      throw new IdpError(code, 'the sign-in was denied in the browser', { cause: err });
    if (code === 'expired_token' || polling.aborted)
      throw new IdpError('expired_token', 'the one-time code expired before the sign-in finished', {
        cause: err,
      });
    throw new IdpError(code ?? 'device_flow_failed', describe(err, 'the sign-in failed'), { cause: err });
  } finally {
    rl?.close();
  }
}

function describe(err: unknown, fallback: string): string {
  const e = err as { error?: string; error_description?: string };
  if (e.error) return `${fallback} (${e.error}${e.error_description ? `: ${e.error_description}` : ''})`;
  return fallback;
}

function openInBrowser(url: string): void {
  const [cmd, args] =
    process.platform === 'darwin'
      ? ['open', [url]]
      : process.platform === 'win32'
        ? ['cmd', ['/c', 'start', '""', url]]
        : ['xdg-open', [url]];
  try {
    const child = spawn(cmd, args, { stdio: 'ignore', detached: true });
    child.on('error', () => {});
    child.unref();
  } catch {
    // No opener: the URL is on screen already.
  }
}
