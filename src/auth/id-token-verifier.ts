import {
  createRemoteJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  type JWTPayload,
  jwtVerify,
  type RemoteJWKSet,
} from 'jose';
import type { BrokerConfig, MachineIssuerConfig } from '../broker/config/schema.js';
import {
  ClaimMappingError,
  expandIdentityTemplate,
  groupsFromClaim,
  groupsFromRules,
} from './claim-mapping.js';

/**
 * Asymmetric algorithms only. `none` and the HMAC family are refused before any key is looked
 * up: accepting HS256 would let anyone holding the issuer's *public* key mint tokens.
 */
export const ALLOWED_ID_TOKEN_ALGS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
] as const;

/** Seconds of clock skew tolerated on `exp`, `nbf` and `iat`. */
export const ID_TOKEN_CLOCK_TOLERANCE_S = 30;

/** Why an ID token was refused; `code` is stable (audit events, API error codes). */
export const IdTokenRefusal = {
  malformed: 'malformed_token',
  algNotAllowed: 'alg_not_allowed',
  wrongIssuer: 'wrong_issuer',
  wrongAudience: 'wrong_audience',
  expired: 'token_expired',
  notYetValid: 'token_not_yet_valid',
  badSignature: 'bad_signature',
  unknownKey: 'unknown_key',
  missingClaim: 'missing_claim',
  claimInvalid: 'claim_invalid',
  issuerUnavailable: 'issuer_unavailable',
} as const;
export type IdTokenRefusal = (typeof IdTokenRefusal)[keyof typeof IdTokenRefusal];

export class IdTokenError extends Error {
  readonly code: IdTokenRefusal;
  /** The unverified `iss`, when the token had one (for the audit trail only). */
  readonly issuer: string | undefined;
  constructor(code: IdTokenRefusal, message: string, options: { cause?: unknown; issuer?: string } = {}) {
    super(message, { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.issuer = options.issuer;
  }
}

export interface VerifiedIdentity {
  id: string;
  kind: 'human' | 'machine';
  groups: string[];
  name?: string;
  issuer: string;
  subject: string;
}

interface TrustedIssuer {
  issuer: string;
  audience: string;
  kind: 'human' | 'machine';
  jwksUri?: string;
  map(claims: JWTPayload): { id: string; groups: string[]; name?: string };
}

export interface IdTokenVerifierOptions {
  fetch?: typeof fetch;
  /** Timeout of discovery and JWKS requests. */
  timeoutMs?: number;
}

/**
 * Verifies OIDC ID tokens from the configured human IdP and machine issuers (DESIGN §3) and
 * maps their claims to an identity and groups. Discovery documents are cached per issuer; JWKS
 * are cached by jose and refetched when a token names an unknown `kid` (with a cooldown).
 */
export class IdTokenVerifier {
  readonly #issuers = new Map<string, TrustedIssuer>();
  readonly #jwks = new Map<string, Promise<RemoteJWKSet>>();
  readonly #fetch: typeof fetch;
  readonly #timeoutMs: number;

  constructor(auth: BrokerConfig['auth'], options: IdTokenVerifierOptions = {}) {
    this.#fetch = options.fetch ?? globalThis.fetch;
    this.#timeoutMs = options.timeoutMs ?? 5000;
    if (auth.oidc) {
      const o = auth.oidc;
      this.#issuers.set(o.issuer, {
        issuer: o.issuer,
        audience: o.audience ?? o.client_id,
        kind: 'human',
        map: (claims) => {
          const id = claims[o.identity_claim];
          if (typeof id !== 'string' || id === '')
            throw new ClaimMappingError('missing_claim', `ID token has no "${o.identity_claim}" claim`);
          const name = typeof claims.name === 'string' ? claims.name : undefined;
          return { id, groups: groupsFromClaim(claims, o.groups_claim), ...(name ? { name } : {}) };
        },
      });
    }
    for (const m of auth.machine_issuers) {
      if (this.#issuers.has(m.issuer)) continue;
      this.#issuers.set(m.issuer, machineIssuer(m));
    }
  }

  /** The issuers this broker trusts. */
  get issuers(): string[] {
    return [...this.#issuers.keys()];
  }

  async verify(token: string): Promise<VerifiedIdentity> {
    let header: ReturnType<typeof decodeProtectedHeader>;
    let unverified: JWTPayload;
    try {
      header = decodeProtectedHeader(token);
      unverified = decodeJwt(token);
    } catch (err) {
      throw new IdTokenError(IdTokenRefusal.malformed, 'not a signed JWT', { cause: err });
    }
    const iss = typeof unverified.iss === 'string' ? unverified.iss : undefined;
    const alg = header.alg;
    if (!alg || !(ALLOWED_ID_TOKEN_ALGS as readonly string[]).includes(alg)) {
      throw new IdTokenError(
        IdTokenRefusal.algNotAllowed,
        `signing algorithm ${alg ?? '(none)'} is not allowed`,
        {
          ...(iss ? { issuer: iss } : {}),
        },
      );
    }
    const trusted = iss ? this.#issuers.get(iss) : undefined;
    if (!iss || !trusted) {
      throw new IdTokenError(IdTokenRefusal.wrongIssuer, 'token issuer is not trusted by this broker', {
        ...(iss ? { issuer: iss } : {}),
      });
    }
    const jwks = await this.#keysFor(trusted);
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, jwks, {
        issuer: trusted.issuer,
        audience: trusted.audience,
        algorithms: [...ALLOWED_ID_TOKEN_ALGS],
        clockTolerance: ID_TOKEN_CLOCK_TOLERANCE_S,
        requiredClaims: ['exp', 'sub'],
      }));
    } catch (err) {
      throw refusalFor(err, trusted.issuer);
    }
    try {
      const mapped = trusted.map(payload);
      return { ...mapped, kind: trusted.kind, issuer: trusted.issuer, subject: String(payload.sub) };
    } catch (err) {
      if (err instanceof ClaimMappingError)
        throw new IdTokenError(IdTokenRefusal.missingClaim, err.message, {
          cause: err,
          issuer: trusted.issuer,
        });
      throw err;
    }
  }

  #keysFor(trusted: TrustedIssuer): Promise<RemoteJWKSet> {
    let p = this.#jwks.get(trusted.issuer);
    if (!p) {
      p = this.#discoverJwks(trusted).then((uri) =>
        createRemoteJWKSet(new URL(uri), { timeoutDuration: this.#timeoutMs, cooldownDuration: 30_000 }),
      );
      // A failed discovery is not cached: the next login retries.
      p.catch(() => this.#jwks.delete(trusted.issuer));
      this.#jwks.set(trusted.issuer, p);
    }
    return p;
  }

  async #discoverJwks(trusted: TrustedIssuer): Promise<string> {
    if (trusted.jwksUri) return trusted.jwksUri;
    const url = `${trusted.issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
    let doc: { issuer?: unknown; jwks_uri?: unknown };
    try {
      const res = await this.#fetch(url, {
        headers: { accept: 'application/json' },
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      doc = (await res.json()) as typeof doc;
    } catch (err) {
      throw new IdTokenError(IdTokenRefusal.issuerUnavailable, 'cannot reach the token issuer', {
        cause: err,
        issuer: trusted.issuer,
      });
    }
    // OIDC Discovery §4.3: the document must name exactly the issuer it was fetched for.
    if (doc.issuer !== trusted.issuer || typeof doc.jwks_uri !== 'string') {
      throw new IdTokenError(
        IdTokenRefusal.issuerUnavailable,
        'the issuer’s discovery document does not match',
        {
          issuer: trusted.issuer,
        },
      );
    }
    return doc.jwks_uri;
  }
}

function machineIssuer(m: MachineIssuerConfig): TrustedIssuer {
  return {
    issuer: m.issuer,
    audience: m.audience,
    kind: 'machine',
    ...(m.jwks_uri ? { jwksUri: m.jwks_uri } : {}),
    map: (claims) => {
      const groups = groupsFromRules(m.groups, claims);
      if (m.groups_claim)
        for (const g of groupsFromClaim(claims, m.groups_claim)) if (!groups.includes(g)) groups.push(g);
      return { id: expandIdentityTemplate(m.identity, claims), groups };
    },
  };
}

function refusalFor(err: unknown, issuer: string): IdTokenError {
  const e = err as { code?: string; claim?: string };
  const make = (code: IdTokenRefusal, message: string) =>
    new IdTokenError(code, message, { cause: err, issuer });
  switch (e.code) {
    case 'ERR_JWT_EXPIRED':
      return make(IdTokenRefusal.expired, 'token expired');
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      if (e.claim === 'nbf') return make(IdTokenRefusal.notYetValid, 'token is not yet valid');
      if (e.claim === 'iat') return make(IdTokenRefusal.notYetValid, 'token was issued in the future');
      if (e.claim === 'aud') return make(IdTokenRefusal.wrongAudience, 'token is meant for another audience');
      if (e.claim === 'iss')
        return make(IdTokenRefusal.wrongIssuer, 'token issuer is not trusted by this broker');
      return make(IdTokenRefusal.claimInvalid, `token claim "${e.claim ?? '?'}" is not valid`);
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return make(IdTokenRefusal.badSignature, 'token signature is not valid');
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return make(IdTokenRefusal.algNotAllowed, 'signing algorithm is not allowed');
    case 'ERR_JWKS_NO_MATCHING_KEY':
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
      return make(IdTokenRefusal.unknownKey, 'token was signed with a key the issuer does not publish');
    case 'ERR_JWKS_TIMEOUT':
    case 'ERR_JWKS_INVALID':
      return make(IdTokenRefusal.issuerUnavailable, 'cannot fetch the issuer’s signing keys');
    case 'ERR_JWT_INVALID':
    case 'ERR_JWS_INVALID':
      return make(IdTokenRefusal.malformed, 'not a valid JWT');
    default:
      if (err instanceof TypeError || (err as Error)?.name === 'AbortError')
        return make(IdTokenRefusal.issuerUnavailable, 'cannot fetch the issuer’s signing keys');
      return make(IdTokenRefusal.malformed, 'token could not be verified');
  }
}
