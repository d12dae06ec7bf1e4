import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, jwtVerify, SignJWT } from 'jose';
import { newId } from '../lib/ids.js';
import type { Secret } from '../lib/secret.js';
import type { Store } from '../store/store.js';

export const BROKER_TOKEN_AUDIENCE = 'gatectl';

/** What a broker session token says about its holder. */
export interface BrokerIdentity {
  /** `alice@example.com`, `ci:acme/payments`. */
  id: string;
  kind: 'human' | 'machine';
  groups: string[];
  name?: string;
}

export interface BrokerTokenClaims extends BrokerIdentity {
  jti: string;
  /** Seconds since the epoch. */
  exp: number;
  iat: number;
}

export class TokenError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options: { cause?: unknown } = {}) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/**
 * Issues and verifies broker session tokens: short-lived EdDSA JWTs (DESIGN §3). The key comes
 * from the config or is generated once and kept in the store, so every replica agrees on it.
 */
export class BrokerTokens {
  readonly keyId: string;
  readonly issuer: string;
  readonly #privateKey: KeyObject;
  readonly #publicKey: KeyObject;
  readonly #store: Store;

  private constructor(store: Store, privateKey: KeyObject, keyId: string) {
    this.#store = store;
    this.#privateKey = privateKey;
    this.#publicKey = createPublicKey(privateKey);
    this.keyId = keyId;
    this.issuer = `urn:gatectl:broker:${keyId}`;
  }

  static async open(store: Store, configured?: Secret): Promise<BrokerTokens> {
    if (configured) {
      const key = createPrivateKey(configured.reveal());
      if (key.asymmetricKeyType !== 'ed25519')
        throw new TokenError(
          'bad_key',
          'auth.session.signing_key must be an Ed25519 private key (PKCS#8 PEM)',
        );
      return new BrokerTokens(store, key, await thumbprint(key));
    }
    const existing = await store.db
      .selectFrom('signing_keys')
      .select(['id', 'private_pem'])
      .where('purpose', '=', 'session')
      .where('retired_at', 'is', null)
      .orderBy('created_at', 'desc')
      .executeTakeFirst();
    if (existing) return new BrokerTokens(store, createPrivateKey(existing.private_pem), existing.id);
    const { privateKey } = generateKeyPairSync('ed25519');
    const id = await thumbprint(privateKey);
    const jwk = await exportJWK(createPublicKey(privateKey));
    await store.db
      .insertInto('signing_keys')
      .values({
        id,
        purpose: 'session',
        private_pem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
        public_jwk: JSON.stringify(jwk),
        created_at: Date.now(),
        retired_at: null,
      })
      .onConflict((oc) => oc.column('id').doNothing())
      .execute();
    // Another replica may have raced us; whichever row exists first wins.
    const row = await store.db
      .selectFrom('signing_keys')
      .select(['id', 'private_pem'])
      .where('purpose', '=', 'session')
      .where('retired_at', 'is', null)
      .orderBy('created_at', 'asc')
      .executeTakeFirstOrThrow();
    return new BrokerTokens(store, createPrivateKey(row.private_pem), row.id);
  }

  async issue(
    identity: BrokerIdentity,
    ttlMs: number,
  ): Promise<{ token: string; jti: string; expiresAt: Date }> {
    const jti = newId('tok');
    const now = Math.floor(Date.now() / 1000);
    const exp = now + Math.max(1, Math.floor(ttlMs / 1000));
    const token = await new SignJWT({
      kind: identity.kind,
      groups: identity.groups,
      ...(identity.name ? { name: identity.name } : {}),
    })
      .setProtectedHeader({ alg: 'EdDSA', kid: this.keyId, typ: 'JWT' })
      .setSubject(identity.id)
      .setIssuer(this.issuer)
      .setAudience(BROKER_TOKEN_AUDIENCE)
      .setJti(jti)
      .setIssuedAt(now)
      .setExpirationTime(exp)
      .sign(this.#privateKey);
    return { token, jti, expiresAt: new Date(exp * 1000) };
  }

  /** Verifies signature, issuer, audience, expiry and revocation; throws TokenError with a short reason. */
  async verify(token: string): Promise<BrokerTokenClaims> {
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(token, this.#publicKey, {
        issuer: this.issuer,
        audience: BROKER_TOKEN_AUDIENCE,
        algorithms: ['EdDSA'],
        clockTolerance: 30,
      }));
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === 'ERR_JWT_EXPIRED')
        throw new TokenError('token_expired', 'session token expired', { cause: err });
      throw new TokenError('token_invalid', 'session token is not valid for this broker', { cause: err });
    }
    const jti = String(payload.jti ?? '');
    const revoked = await this.#store.db
      .selectFrom('revoked_tokens')
      .select('jti')
      .where('jti', '=', jti)
      .executeTakeFirst();
    if (revoked) throw new TokenError('token_revoked', 'session token was revoked');
    return {
      id: String(payload.sub),
      kind: payload.kind === 'machine' ? 'machine' : 'human',
      groups: Array.isArray(payload.groups) ? payload.groups.map(String) : [],
      ...(typeof payload.name === 'string' ? { name: payload.name } : {}),
      jti,
      exp: Number(payload.exp),
      iat: Number(payload.iat),
    };
  }

  async revoke(claims: Pick<BrokerTokenClaims, 'jti' | 'id' | 'exp'>): Promise<void> {
    await this.#store.db
      .insertInto('revoked_tokens')
      .values({ jti: claims.jti, identity: claims.id, expires_at: claims.exp * 1000, revoked_at: Date.now() })
      .onConflict((oc) => oc.column('jti').doNothing())
      .execute();
  }
}

async function thumbprint(key: KeyObject): Promise<string> {
  return calculateJwkThumbprint(await exportJWK(createPublicKey(key)));
}
