import type { CommandContext } from './context.js';
import { CliError, DeniedError, NotLoggedInError, UsageError } from './errors.js';

/** Supplies the bearer token for broker calls; the identity layer provides stored tokens and renewal. */
export interface TokenSource {
  /** Current broker token, or null when not logged in. */
  get(): Promise<string | null>;
  /** Called after a 401 with `token_expired`: renew and return a fresh token, or null. */
  renew?(): Promise<string | null>;
}

/** A token from $GATECTL_TOKEN (CI, agents): nothing stored, nothing renewed. */
export function envTokenSource(env: NodeJS.ProcessEnv): TokenSource | null {
  const t = env.GATECTL_TOKEN;
  return t ? { get: async () => t } : null;
}

export interface BrokerErrorBody {
  error?: { code?: string; message?: string } & Record<string, unknown>;
}

/** The broker's HTTP API, with its errors turned into CLI errors and exit codes. */
export class BrokerClient {
  readonly baseUrl: string;
  readonly #ctx: Pick<CommandContext, 'fetch' | 'signal'>;
  readonly #tokens: TokenSource | null;

  constructor(baseUrl: string, ctx: Pick<CommandContext, 'fetch' | 'signal'>, tokens: TokenSource | null) {
    this.baseUrl = baseUrl;
    this.#ctx = ctx;
    this.#tokens = tokens;
  }

  async request<T>(
    method: string,
    path: string,
    body?: unknown,
    options: { auth?: boolean; signal?: AbortSignal; timeoutMs?: number } = {},
  ): Promise<T> {
    const auth = options.auth ?? true;
    let token = auth ? await this.#token() : null;
    for (let attempt = 0; ; attempt++) {
      const res = await this.#send(method, path, body, token, options);
      if (res.ok) {
        if (res.status === 204) return undefined as T;
        return (await res.json()) as T;
      }
      const err = (await res.json().catch(() => ({}))) as BrokerErrorBody;
      if (res.status === 401 && err.error?.code === 'token_expired' && attempt === 0 && this.#tokens?.renew) {
        token = await this.#tokens.renew();
        if (token) continue;
      }
      throw toCliError(res.status, err, method, path);
    }
  }

  async #token(): Promise<string> {
    const t = this.#tokens ? await this.#tokens.get() : null;
    if (!t) throw new NotLoggedInError();
    return t;
  }

  async #send(
    method: string,
    path: string,
    body: unknown,
    token: string | null,
    options: { signal?: AbortSignal; timeoutMs?: number },
  ): Promise<Response> {
    const signals = [
      this.#ctx.signal,
      options.signal,
      AbortSignal.timeout(options.timeoutMs ?? 30_000),
    ].filter(Boolean) as AbortSignal[];
    try {
      return await this.#ctx.fetch(`${this.baseUrl}${path}`, {
        method,
        headers: {
          accept: 'application/json',
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
        body: body !== undefined ? JSON.stringify(body) : undefined,
        signal: AbortSignal.any(signals),
      });
    } catch (err) {
      if (this.#ctx.signal.aborted) throw this.#ctx.signal.reason;
      const e = err as Error & { cause?: { code?: string } };
      if (e.name === 'TimeoutError')
        throw new CliError(`the broker at ${this.baseUrl} did not answer in time`, {
          code: 'broker_timeout',
        });
      if (e.name === 'AbortError') throw e;
      throw new CliError(`cannot reach the broker at ${this.baseUrl} (${e.cause?.code ?? e.message})`, {
        code: 'broker_unreachable',
        hint: 'Check the URL (`gatectl status`) and that the broker is running.',
      });
    }
  }
}

export function toCliError(status: number, body: BrokerErrorBody, method: string, path: string): CliError {
  const code = body.error?.code ?? `http_${status}`;
  const message = body.error?.message ?? `${method} ${path} failed with HTTP ${status}`;
  if (status === 401) {
    if (code === 'token_expired')
      return new NotLoggedInError('Your gatectl session expired: run `gatectl login`', { code });
    return new NotLoggedInError(`Not authenticated (${message}): run \`gatectl login\``, { code });
  }
  if (status === 403) return new DeniedError(message, { code });
  if (status === 400 || status === 422) return new UsageError(message, { code });
  if (code === 'unknown_target')
    return new CliError(message, { code, hint: 'Run `gatectl targets` to see the targets you can use.' });
  return new CliError(message, { code });
}
