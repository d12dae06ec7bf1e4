import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

/**
 * The part of `fetch` that BrokerClient uses, over node:http. Loading undici (the global fetch)
 * costs tens of milliseconds at start-up, which `gatectl exec <t> -- true` cannot afford; the
 * broker API needs only JSON requests. One keep-alive connection serves the few calls of a run
 * and `close()` releases it so the process can exit at once.
 */
export interface LightFetch {
  fetch: typeof fetch;
  close(): void;
}

export function lightFetch(): LightFetch {
  const agents = {
    'http:': new HttpAgent({ keepAlive: true, maxSockets: 4 }),
    'https:': new HttpsAgent({ keepAlive: true, maxSockets: 4 }),
  };
  const impl = (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    const url = new URL(typeof input === 'string' || input instanceof URL ? input : input.url);
    const protocol = url.protocol as 'http:' | 'https:';
    if (protocol !== 'http:' && protocol !== 'https:')
      return Promise.reject(new TypeError(`unsupported URL ${url}`));
    const body = typeof init.body === 'string' ? init.body : undefined;
    const headers: Record<string, string> = { ...(init.headers as Record<string, string> | undefined) };
    if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body));
    return new Promise<Response>((resolve, reject) => {
      const signal = init.signal ?? undefined;
      if (signal?.aborted) return reject(signal.reason);
      const req = (protocol === 'https:' ? httpsRequest : httpRequest)(
        url,
        { method: init.method ?? 'GET', headers, agent: agents[protocol] },
        (res: IncomingMessage) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            signal?.removeEventListener('abort', onAbort);
            resolve(lightResponse(res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8')));
          });
        },
      );
      const onAbort = () => {
        const reason = signal?.reason as unknown;
        req.destroy(reason instanceof Error ? reason : new Error(String(reason)));
        reject(reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      req.on('error', (err) => {
        signal?.removeEventListener('abort', onAbort);
        // fetch's shape: a network failure is a TypeError whose cause carries the code.
        reject(Object.assign(new TypeError('fetch failed'), { cause: err }));
      });
      req.end(body);
    });
  };
  return {
    fetch: impl as typeof fetch,
    close() {
      agents['http:'].destroy();
      agents['https:'].destroy();
    },
  };
}

function lightResponse(status: number, text: string): Response {
  return {
    status,
    ok: status >= 200 && status < 300,
    text: async () => text,
    json: async () => JSON.parse(text) as unknown,
  } as Response;
}
