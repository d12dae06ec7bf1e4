import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { calculateJwkThumbprint, exportJWK, type JWK } from 'jose';

/** Reads a JSON file of the dev data dir, or undefined when it is missing or unreadable. */
export function readDevJson<T>(dataDir: string, name: string): T | undefined {
  try {
    return JSON.parse(readFileSync(join(dataDir, name), 'utf8')) as T;
  } catch {
    return undefined;
  }
}

/** Writes a JSON file of the dev data dir atomically, mode 0600 (it holds private keys). */
export function writeDevJson(dataDir: string, name: string, value: unknown): void {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = join(dataDir, name);
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, file);
}

/** A fresh private signing key as a JWK with `kid` (its thumbprint), `alg` and `use`. */
export async function newSigningJwk(alg: 'RS256' | 'ES256'): Promise<JWK> {
  const { privateKey } =
    alg === 'RS256'
      ? generateKeyPairSync('rsa', { modulusLength: 2048 })
      : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = await exportJWK(privateKey);
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...pub } = jwk;
  return { ...jwk, kid: await calculateJwkThumbprint(pub), alg, use: 'sig' };
}

export function randomSecret(): string {
  return randomBytes(32).toString('base64url');
}

/** The public half of a private JWK. */
export function publicJwk(jwk: JWK): JWK {
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...pub } = jwk;
  return pub;
}

/**
 * Listens on 127.0.0.1, preferring the port used last time (so issuer URLs, and the tokens
 * naming them, survive a restart) and falling back to a free one.
 */
export async function listenLoopback(
  server: Server,
  preferred: number | undefined,
  host = '127.0.0.1',
): Promise<number> {
  const attempt = (port: number) =>
    new Promise<number>((resolve, reject) => {
      const onError = (err: Error) => {
        server.off('listening', onListening);
        reject(err);
      };
      const onListening = () => {
        server.off('error', onError);
        const addr = server.address();
        resolve(typeof addr === 'object' && addr ? addr.port : port);
      };
      server.once('error', onError);
      server.once('listening', onListening);
      server.listen(port, host);
    });
  if (preferred) {
    try {
      return await attempt(preferred);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    }
  }
  return attempt(0);
}

export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
