import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import type { JWK } from 'jose';
import Provider, { type KoaContextWithOIDC } from 'oidc-provider';
import {
  closeServer,
  listenLoopback,
  newSigningJwk,
  randomSecret,
  readDevJson,
  writeDevJson,
} from './dev-files.js';
import { FileStore, fileAdapter } from './file-adapter.js';

/** The public client the CLI uses for the device flow. */
export const DEV_CLIENT_ID = 'gatectl-cli';
export const DEV_SCOPES = ['openid', 'profile', 'email', 'groups', 'offline_access'];

/** Development users. They sign in without a password: the dev IdP must never face a network. */
export const DEV_USERS = {
  alice: { email: 'alice@example.com', name: 'Alice Example', groups: ['engineers'] },
  bob: { email: 'bob@example.com', name: 'Bob Example', groups: ['dba-oncall'] },
  carol: { email: 'carol@example.com', name: 'Carol Example', groups: ['auditors'] },
} as const;
export type DevUser = keyof typeof DEV_USERS;

export interface DevIdpOptions {
  /** Where keys and IdP state are kept, so a restart keeps issued tokens valid. */
  dataDir: string;
  /** Port on 127.0.0.1; by default the one used last time, else a free one. */
  port?: number;
  /** ID token lifetime in seconds (default 1 h). */
  idTokenTtl?: number;
}

export interface DevIdp {
  issuer: string;
  url: string;
  clientId: string;
  scopes: string[];
  close(): Promise<void>;
}

interface IdpState {
  port?: number;
  jwks: { keys: JWK[] };
  cookieKeys: string[];
}

const STATE_FILE = 'idp.json';

/**
 * A development OpenID Provider (oidc-provider 9) on loopback with the device authorization
 * grant, refresh tokens and a `groups` claim. Its pages are for a person: enter the code,
 * pick a dev user, confirm.
 * @see https://www.rfc-editor.org/rfc/rfc8628 (device authorization grant)
 */
export async function startDevIdp(options: DevIdpOptions): Promise<DevIdp> {
  const { dataDir } = options;
  let state = readDevJson<IdpState>(dataDir, STATE_FILE);
  if (!state?.jwks?.keys?.length || !state.cookieKeys?.length) {
    state = { jwks: { keys: [await newSigningJwk('RS256')] }, cookieKeys: [randomSecret()] };
  }

  let handler: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  const server = createServer((req, res) => {
    if (handler) handler(req, res);
    else res.writeHead(503).end();
  });
  const port = await listenLoopback(server, options.port ?? state.port);
  state.port = port;
  writeDevJson(dataDir, STATE_FILE, state);
  const issuer = `http://127.0.0.1:${port}`;

  const store = new FileStore(join(dataDir, 'idp-store.json'));
  const provider = new Provider(issuer, {
    adapter: fileAdapter(store),
    jwks: state.jwks,
    cookies: { keys: state.cookieKeys },
    clients: [
      {
        client_id: DEV_CLIENT_ID,
        client_name: 'gatectl CLI',
        token_endpoint_auth_method: 'none',
        grant_types: ['urn:ietf:params:oauth:grant-type:device_code', 'refresh_token'],
        response_types: [],
        redirect_uris: [],
      },
    ],
    scopes: DEV_SCOPES,
    claims: {
      openid: ['sub'],
      profile: ['name'],
      email: ['email', 'email_verified'],
      groups: ['groups'],
    },
    // Put the scopes' claims in the ID token itself: the broker reads identity and groups from it.
    conformIdTokenClaims: false,
    features: {
      devInteractions: { enabled: false },
      deviceFlow: {
        enabled: true,
        userCodeInputSource: async (ctx: KoaContextWithOIDC, form: string, _out: unknown, err: unknown) => {
          ctx.type = 'html';
          ctx.body = page(
            'Sign in to gatectl',
            `${err ? `<p class="error">${errorText(err)}</p>` : '<p>Enter the code shown in your terminal.</p>'}
             ${form}
             <button type="submit" form="op.deviceInputForm">Continue</button>`,
          );
        },
        userCodeConfirmSource: async (
          ctx: KoaContextWithOIDC,
          form: string,
          _client: unknown,
          _deviceInfo: unknown,
          userCode: string,
        ) => {
          ctx.type = 'html';
          ctx.body = page(
            'Confirm the device',
            `<p>Check that your terminal shows this code:</p>
             <p class="code">${escapeHtml(userCode)}</p>
             ${form}
             <button type="submit" form="op.deviceConfirmForm">Continue</button>
             <button type="submit" form="op.deviceConfirmForm" name="abort" value="yes" class="secondary">Abort</button>`,
          );
        },
        successSource: async (ctx: KoaContextWithOIDC) => {
          ctx.type = 'html';
          ctx.body = page(
            'Signed in',
            '<p id="success">You are signed in. Return to your terminal; you can close this page.</p>',
          );
        },
      },
      revocation: { enabled: true },
    },
    findAccount: async (_ctx: unknown, id: string) => {
      const user = DEV_USERS[id as DevUser];
      if (!user) return undefined;
      return {
        accountId: id,
        claims: async () => ({
          sub: id,
          email: user.email,
          email_verified: true,
          name: user.name,
          groups: [...user.groups],
        }),
      };
    },
    interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
    ttl: {
      AccessToken: 3600,
      DeviceCode: 600,
      Grant: 14 * 86400,
      IdToken: options.idTokenTtl ?? 3600,
      Interaction: 3600,
      RefreshToken: 14 * 86400,
      Session: 14 * 86400,
    },
    renderError: async (ctx: KoaContextWithOIDC, out: Record<string, string>) => {
      ctx.type = 'html';
      ctx.body = page(
        'Sign-in failed',
        `<p class="error">${escapeHtml(out.error ?? 'error')}: ${escapeHtml(out.error_description ?? '')}</p>`,
      );
    },
  });

  const providerCallback = provider.callback();
  handler = (req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    const m = /^\/interaction\/([A-Za-z0-9_-]+)(?:\/(login|confirm|abort))?$/.exec(path);
    if (m) {
      interaction(provider, req, res, m[2] ?? 'show').catch((err: unknown) => {
        if (!res.headersSent)
          res
            .writeHead(400, { 'content-type': 'text/html; charset=utf-8' })
            .end(page('Sign-in failed', `<p class="error">${escapeHtml((err as Error).message)}</p>`));
      });
      return;
    }
    if (path === '/' && req.method === 'GET') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(
        page(
          'gatectl development identity provider',
          `<p>Run <code>gatectl login</code>, then <a href="/device">enter your code here</a>.</p>
           <p>Dev users: ${Object.entries(DEV_USERS)
             .map(([k, u]) => `<b>${k}</b> (${u.groups.join(', ')})`)
             .join(', ')}.</p>`,
        ),
      );
      return;
    }
    providerCallback(req, res);
  };

  return {
    issuer,
    url: issuer,
    clientId: DEV_CLIENT_ID,
    scopes: [...DEV_SCOPES],
    close: () => closeServer(server),
  };
}

async function interaction(
  provider: Provider,
  req: IncomingMessage,
  res: ServerResponse,
  action: 'show' | 'login' | 'confirm' | 'abort' | string,
): Promise<void> {
  const details = await provider.interactionDetails(req, res);
  const { uid, prompt, params } = details;
  const html = (status: number, body: string): void => {
    res
      .writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' })
      .end(body);
  };

  if (action === 'show' && req.method === 'GET') {
    if (prompt.name === 'login') {
      const buttons = Object.entries(DEV_USERS)
        .map(
          ([id, u]) =>
            `<button type="submit" name="user" value="${id}">${escapeHtml(u.name)} &lt;${escapeHtml(u.email)}&gt; — groups: ${escapeHtml(u.groups.join(', '))}</button>`,
        )
        .join('\n');
      return html(
        200,
        page(
          'Pick a dev user',
          `<p>Sign in as one of the development users. No password is asked: this IdP is for development only.</p>
           <form method="post" action="/interaction/${uid}/login">${buttons}</form>
           <form method="post" action="/interaction/${uid}/abort"><button type="submit" class="secondary">Cancel</button></form>`,
        ),
      );
    }
    const scopes = String(params.scope ?? '')
      .split(' ')
      .filter(Boolean);
    return html(
      200,
      page(
        'Confirm sign-in',
        `<p>Allow <b>${escapeHtml(String(params.client_id ?? 'the client'))}</b> to sign you in as
         <b>${escapeHtml(details.session?.accountId ?? '?')}</b>?</p>
         <p>It will see: ${escapeHtml(scopes.join(', '))}.</p>
         <form method="post" action="/interaction/${uid}/confirm"><button type="submit">Confirm</button></form>
         <form method="post" action="/interaction/${uid}/abort"><button type="submit" class="secondary">Cancel</button></form>`,
      ),
    );
  }
  if (req.method !== 'POST') return html(405, page('Not allowed', '<p>Use the form.</p>'));
  const form = new URLSearchParams(await readBody(req));

  if (action === 'abort') {
    return provider.interactionFinished(
      req,
      res,
      { error: 'access_denied', error_description: 'the user cancelled the sign-in' },
      { mergeWithLastSubmission: false },
    );
  }
  if (action === 'login') {
    if (prompt.name !== 'login') throw new Error('this sign-in does not expect a user choice now');
    const user = form.get('user') ?? '';
    if (!(user in DEV_USERS)) throw new Error('unknown dev user');
    return provider.interactionFinished(
      req,
      res,
      { login: { accountId: user } },
      { mergeWithLastSubmission: false },
    );
  }
  if (action === 'confirm') {
    if (prompt.name !== 'consent') throw new Error('this sign-in does not expect a confirmation now');
    const accountId = details.session?.accountId;
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId, clientId: String(params.client_id) });
    if (!grant) throw new Error('grant not found');
    const d = prompt.details as { missingOIDCScope?: string[]; missingOIDCClaims?: string[] };
    if (d.missingOIDCScope) grant.addOIDCScope(d.missingOIDCScope.join(' '));
    if (d.missingOIDCClaims) grant.addOIDCClaims(d.missingOIDCClaims);
    const grantId = await grant.save();
    return provider.interactionFinished(
      req,
      res,
      { consent: { grantId } },
      { mergeWithLastSubmission: true },
    );
  }
  return html(404, page('Not found', '<p>No such page.</p>'));
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let data = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      data += chunk;
      if (data.length > 64 * 1024) reject(new Error('request body too large'));
    });
    req.on('end', () => resolve(data));
    req.on('error', reject);
  });
}

function errorText(err: unknown): string {
  const name = (err as { name?: string }).name;
  if (name === 'NoCodeError' || name === 'NotFoundError')
    return 'That code is not valid. Check your terminal and try again.';
  if (name === 'ExpiredError') return 'That code expired. Run `gatectl login` again.';
  if (name === 'AlreadyUsedError') return 'That code was already used.';
  if (name === 'AbortedError') return 'Sign-in aborted.';
  return 'Something went wrong. Try again.';
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(title: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} — gatectl dev IdP</title>
<style>
body{font-family:system-ui,sans-serif;max-width:34rem;margin:2rem auto;padding:0 1rem;color:#222}
.banner{background:#b00020;color:#fff;padding:.75rem 1rem;border-radius:4px;font-weight:700}
button{display:block;width:100%;margin:.5rem 0;padding:.6rem;font-size:1rem;cursor:pointer}
button.secondary{background:none;border:none;color:#666;text-decoration:underline}
input[type=text]{width:100%;font-size:1.4rem;padding:.4rem;text-transform:uppercase;text-align:center;box-sizing:border-box}
.code{font-size:2rem;font-family:monospace;text-align:center}
.error{color:#b00020}
</style>
</head>
<body>
<p class="banner">DEVELOPMENT IDENTITY PROVIDER — users sign in without a password. Never expose it or use it in production.</p>
<h1>${escapeHtml(title)}</h1>
${body}
</body>
</html>`;
}
