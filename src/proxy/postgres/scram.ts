import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * SCRAM-SHA-256 (RFC 5802 / RFC 7677) as PostgreSQL uses it, server side: the verifier the
 * broker stores for a tunnel's one-time secret and the exchange that checks a client's proof.
 * Channel binding is not offered (the hop to the engine is the CLI's WebSocket, which carries
 * its own TLS), so only `SCRAM-SHA-256` is advertised, never `-PLUS`.
 * @see https://www.postgresql.org/docs/current/sasl-authentication.html
 */

export const SCRAM_MECHANISM = 'SCRAM-SHA-256';
const DEFAULT_ITERATIONS = 4096;

export function hmac(key: Buffer, data: string | Buffer): Buffer {
  return createHmac('sha256', key).update(data).digest();
}

export function sha256(data: Buffer): Buffer {
  return createHash('sha256').update(data).digest();
}

export function xor(a: Buffer, b: Buffer): Buffer {
  const out = Buffer.allocUnsafe(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! ^ b[i]!;
  return out;
}

/**
 * PostgreSQL's stored form for `secret`:
 * `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>` (base64 fields).
 * The secret is used as given (no SASLprep): the tunnel issues ASCII secrets, for which
 * SASLprep is the identity.
 */
export function createScramVerifier(secret: string, iterations = DEFAULT_ITERATIONS): string {
  const salt = randomBytes(16);
  const salted = pbkdf2Sync(secret, salt, iterations, 32, 'sha256');
  const storedKey = sha256(hmac(salted, 'Client Key'));
  const serverKey = hmac(salted, 'Server Key');
  return `${SCRAM_MECHANISM}$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}

export interface ScramVerifier {
  iterations: number;
  salt: string;
  storedKey: Buffer;
  serverKey: Buffer;
}

export function parseScramVerifier(verifier: string): ScramVerifier {
  const m = /^SCRAM-SHA-256\$(\d+):([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+):([A-Za-z0-9+/=]+)$/.exec(verifier);
  if (!m) throw new Error('not a SCRAM-SHA-256 verifier');
  const storedKey = Buffer.from(m[3]!, 'base64');
  const serverKey = Buffer.from(m[4]!, 'base64');
  if (storedKey.length !== 32 || serverKey.length !== 32) throw new Error('not a SCRAM-SHA-256 verifier');
  return { iterations: Number(m[1]), salt: m[2]!, storedKey, serverKey };
}

/** Why a SCRAM exchange failed; `malformed` is a protocol violation, `proof` a wrong secret. */
export class ScramError extends Error {
  readonly code: 'malformed' | 'proof' | 'channel-binding';
  constructor(code: ScramError['code'], message: string) {
    super(message);
    this.name = new.target.name;
    this.code = code;
  }
}

/** Splits `a=1,b=2` SCRAM attributes; values may contain `=`. */
export function parseAttributes(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of text.split(',')) {
    const eq = part.indexOf('=');
    if (eq !== 1) throw new ScramError('malformed', 'malformed SCRAM attribute');
    out.set(part[0]!, part.slice(2));
  }
  return out;
}

/**
 * The server side of one exchange: `first()` takes the client-first-message and returns the
 * server-first-message; `final()` takes the client-final-message, checks the proof and returns
 * the server-final-message.
 */
export class ScramServer {
  readonly #verifier: ScramVerifier;
  #gs2Header = '';
  #clientFirstBare = '';
  #serverFirst = '';
  #nonce = '';

  constructor(verifier: ScramVerifier) {
    this.#verifier = verifier;
  }

  first(clientFirst: string): string {
    // gs2-header: `n,,` (no binding), `y,,` (client could bind but thinks we cannot);
    // `p=` asks for binding we did not offer.
    const m = /^([ny]),(a=[^,]*)?,(.*)$/.exec(clientFirst);
    if (!m) {
      if (clientFirst.startsWith('p='))
        throw new ScramError('channel-binding', 'channel binding not supported');
      throw new ScramError('malformed', 'malformed SCRAM client-first-message');
    }
    this.#gs2Header = clientFirst.slice(0, clientFirst.length - m[3]!.length);
    this.#clientFirstBare = m[3]!;
    // PostgreSQL ignores the SCRAM user name (n=) and uses the startup user.
    const attrs = parseAttributes(this.#clientFirstBare);
    const clientNonce = attrs.get('r');
    if (!clientNonce || attrs.has('m'))
      throw new ScramError('malformed', 'malformed SCRAM client-first-message');
    this.#nonce = clientNonce + randomBytes(18).toString('base64');
    this.#serverFirst = `r=${this.#nonce},s=${this.#verifier.salt},i=${this.#verifier.iterations}`;
    return this.#serverFirst;
  }

  final(clientFinal: string): string {
    const proofAt = clientFinal.lastIndexOf(',p=');
    if (proofAt < 0) throw new ScramError('malformed', 'malformed SCRAM client-final-message');
    const withoutProof = clientFinal.slice(0, proofAt);
    const attrs = parseAttributes(withoutProof);
    if (attrs.get('c') !== Buffer.from(this.#gs2Header).toString('base64')) {
      throw new ScramError('channel-binding', 'SCRAM channel binding check failed');
    }
    if (attrs.get('r') !== this.#nonce) throw new ScramError('malformed', 'SCRAM nonce mismatch');
    const proof = Buffer.from(clientFinal.slice(proofAt + 3), 'base64');
    const authMessage = `${this.#clientFirstBare},${this.#serverFirst},${withoutProof}`;
    const clientSignature = hmac(this.#verifier.storedKey, authMessage);
    if (proof.length !== clientSignature.length) throw new ScramError('proof', 'wrong SCRAM proof');
    const clientKey = xor(proof, clientSignature);
    if (!timingSafeEqual(sha256(clientKey), this.#verifier.storedKey)) {
      throw new ScramError('proof', 'wrong SCRAM proof');
    }
    return `v=${hmac(this.#verifier.serverKey, authMessage).toString('base64')}`;
  }
}
