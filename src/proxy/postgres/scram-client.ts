import { pbkdf2, randomBytes, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import { scramPassword } from './saslprep.js';
import { hmac, parseAttributes, ScramError, sha256, xor } from './scram.js';

const pbkdf2Async = promisify(pbkdf2);

/**
 * Salted passwords by (salt, iterations, password hash): the target keeps one salt per role, so
 * every new upstream connection would otherwise spend a full PBKDF2 run on the same result.
 */
const saltedCache = new Map<string, Buffer>();
const SALTED_CACHE_MAX = 64;

async function saltedPassword(password: string, salt: Buffer, iterations: number): Promise<Buffer> {
  const key = `${iterations}:${salt.toString('base64')}:${sha256(Buffer.from(password)).toString('base64')}`;
  const hit = saltedCache.get(key);
  if (hit) return hit;
  const salted = await pbkdf2Async(password, salt, iterations, 32, 'sha256');
  if (saltedCache.size >= SALTED_CACHE_MAX) saltedCache.delete(saltedCache.keys().next().value!);
  saltedCache.set(key, salted);
  return salted;
}

/**
 * The client side of SCRAM-SHA-256 without channel binding, as the broker logs in to a target.
 * The password goes through SASLprep first, with PostgreSQL's fallback to the raw password,
 * so a non-ASCII password set on the server (which prepares it the same way) matches.
 * @see RFC 5802 §3, RFC 7677
 */
export class ScramClient {
  readonly #password: string;
  readonly #clientNonce = randomBytes(18).toString('base64');
  #clientFirstBare = '';
  #serverSignature: Buffer | null = null;

  constructor(password: string) {
    this.#password = scramPassword(password);
  }

  first(): string {
    // The user name travels in the StartupMessage; PostgreSQL ignores `n=`.
    this.#clientFirstBare = `n=*,r=${this.#clientNonce}`;
    return `n,,${this.#clientFirstBare}`;
  }

  async final(serverFirst: string): Promise<string> {
    const attrs = parseAttributes(serverFirst);
    const nonce = attrs.get('r');
    const salt = attrs.get('s');
    const iterations = Number(attrs.get('i'));
    if (!nonce?.startsWith(this.#clientNonce) || nonce.length === this.#clientNonce.length) {
      throw new ScramError('malformed', 'server nonce does not extend the client nonce');
    }
    if (!salt || !Number.isSafeInteger(iterations) || iterations < 1) {
      throw new ScramError('malformed', 'malformed SCRAM server-first-message');
    }
    const salted = await saltedPassword(this.#password, Buffer.from(salt, 'base64'), iterations);
    const clientKey = hmac(salted, 'Client Key');
    const storedKey = sha256(clientKey);
    const withoutProof = `c=biws,r=${nonce}`;
    const authMessage = `${this.#clientFirstBare},${serverFirst},${withoutProof}`;
    const proof = xor(clientKey, hmac(storedKey, authMessage));
    this.#serverSignature = hmac(hmac(salted, 'Server Key'), authMessage);
    return `${withoutProof},p=${proof.toString('base64')}`;
  }

  /** Checks the server-final-message: a server that cannot prove it knows the verifier is refused. */
  verify(serverFinal: string): void {
    const attrs = parseAttributes(serverFinal);
    if (attrs.has('e')) throw new ScramError('proof', `server rejected SCRAM: ${attrs.get('e')}`);
    const v = Buffer.from(attrs.get('v') ?? '', 'base64');
    if (!this.#serverSignature || v.length !== 32 || !timingSafeEqual(v, this.#serverSignature)) {
      throw new ScramError('proof', 'server signature mismatch');
    }
  }
}
