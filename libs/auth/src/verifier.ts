/**
 * Bearer-token verification, one home for the API (HTTP) and the gateway (WebSocket upgrade and
 * token expiry while connected). jose does the cryptography and the JWKS cache; this file fixes the
 * policy: an explicit algorithm allow-list that never contains `none`, explicit clock tolerance,
 * `sub` required, and a clear line between "this token is bad" (401) and "we could not fetch the
 * keys to check it" (503: the client did nothing wrong).
 */
import { webcrypto } from 'node:crypto';
import { numberOption, TetherError, TetherInvalidOptionError } from '@tether/errors';
import { createRemoteJWKSet, errors, jwtVerify, type JWTVerifyGetKey, type JWTVerifyOptions } from 'jose';
import { VerifiedTokenCache } from './verified-cache.ts';

export interface TokenVerifierOptions {
  /** HS256 shared secret (AUTH_JWT_SECRET). Exactly one of this and `jwksUrl`. */
  secret?: string;
  /** JWKS endpoint (AUTH_JWKS_URL); keys are cached and re-fetched when a token names an unknown `kid`. */
  jwksUrl?: string;
  /** Accepted `alg` values. Default `['HS256']` with a secret, `['RS256', 'ES256', 'EdDSA']` with JWKS. Never `none`. */
  algorithms?: string[];
  /** Allowed clock skew for `exp` / `nbf` / `iat`, seconds. Default 5. */
  clockToleranceS?: number;
  /** Required `iss`, when set. */
  issuer?: string;
  /** Required `aud`, when set. */
  audience?: string;
  /** How long fetched JWKS keys are used before a re-fetch, ms. Default 600 000 (10 min). */
  jwksCacheMaxAgeMs?: number;
  /** Minimum time between two JWKS fetches triggered by unknown `kid`s, ms. Default 30 000. */
  jwksCooldownMs?: number;
  /** JWKS fetch timeout, ms. Default 2000. */
  jwksTimeoutMs?: number;
  /**
   * Verified tokens remembered, so a client's repeated token is checked once (0 turns it off).
   * Only successes are kept, never past the token's `exp`. Default 10 000.
   */
  verifiedCacheMaxEntries?: number;
  /** Longest time a verified token is answered from memory, ms. Default 60 000 (1 min). */
  verifiedCacheMaxAgeMs?: number;
}

export interface VerifiedToken {
  /** The principal (`sub`): it owns the jobs it creates. */
  subject: string;
  /** When the token expires (ms since epoch), if it has `exp`. */
  expiresAt: number | undefined;
}

/** The token is missing, malformed, expired, wrongly signed or lacks `sub` (HTTP 401, close 4401). */
export class TokenRejectedError extends TetherError {
  declare readonly code: 'TETHER_AUTH_TOKEN_REJECTED';
  /** Safe to show the client: never contains the token. */
  readonly reason: 'missing' | 'malformed' | 'expired' | 'invalid' | 'no_subject';
  constructor(reason: TokenRejectedError['reason'], options?: ErrorOptions) {
    super(
      'TETHER_AUTH_TOKEN_REJECTED',
      `bearer token ${reason === 'no_subject' ? 'has no subject' : reason}`,
      {
        ...options,
        retryable: false,
      },
    );
    this.reason = reason;
  }
}

/** The signing keys could not be fetched, so the token could not be checked (HTTP 503, retry later). */
export class TokenKeysUnavailableError extends TetherError {
  declare readonly code: 'TETHER_AUTH_KEYS_UNAVAILABLE';
  constructor(options?: ErrorOptions) {
    super('TETHER_AUTH_KEYS_UNAVAILABLE', 'the token signing keys could not be fetched', {
      ...options,
      retryable: true,
    });
  }
}

/**
 * A bad verifier option: the shared `TetherInvalidOptionError` (code `TETHER_INVALID_OPTION`).
 * @deprecated Use `TetherInvalidOptionError` from `@tether/errors` (the same class).
 */
export const AuthOptionError = TetherInvalidOptionError;
/** @deprecated Use `TetherInvalidOptionError` from `@tether/errors`. */
export type AuthOptionError = TetherInvalidOptionError;

// ERR_JOSE_GENERIC is what jose throws for a non-200 answer of the JWKS endpoint.
const KEYS_UNAVAILABLE = new Set(['ERR_JWKS_TIMEOUT', 'ERR_JWKS_INVALID', 'ERR_JOSE_GENERIC']);
const JWT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*$/;

export interface TokenVerifier {
  (token: string | undefined): Promise<VerifiedToken>;
  /**
   * The token as the verifier remembered it, without a promise: a token that verified before and is
   * still within its cache validity (never past its `exp`), else undefined — then call the verifier.
   * For hot paths where a promise per request shows (the API's every request).
   */
  cached(token: string): VerifiedToken | undefined;
}

export function createTokenVerifier(options: TokenVerifierOptions): TokenVerifier {
  if (Boolean(options.secret) === Boolean(options.jwksUrl)) {
    throw new TetherInvalidOptionError(
      'secret',
      'must be set when jwksUrl is not, and not when it is ' +
        '(exactly one of AUTH_JWT_SECRET and AUTH_JWKS_URL)',
    );
  }
  const algorithms = options.algorithms ?? (options.secret ? ['HS256'] : ['RS256', 'ES256', 'EdDSA']);
  if (algorithms.length === 0 || algorithms.some((a) => a.toLowerCase() === 'none')) {
    throw new TetherInvalidOptionError('algorithms', 'must be non-empty and must not contain "none"', {
      value: algorithms,
    });
  }
  const clockToleranceS = options.clockToleranceS ?? 5;
  if (!Number.isFinite(clockToleranceS) || clockToleranceS < 0) {
    throw new TetherInvalidOptionError('clockToleranceS', 'must be a number >= 0', {
      value: clockToleranceS,
    });
  }
  let jwksUrl: URL | undefined;
  if (options.jwksUrl) {
    try {
      jwksUrl = new URL(options.jwksUrl);
    } catch {
      throw new TetherInvalidOptionError('jwksUrl', 'must be an absolute http(s) URL');
    }
  }
  const verifyOptions: JWTVerifyOptions = {
    algorithms,
    clockTolerance: clockToleranceS,
    requiredClaims: ['sub'],
    ...(options.issuer ? { issuer: options.issuer } : {}),
    ...(options.audience ? { audience: options.audience } : {}),
  };
  const cache = new VerifiedTokenCache<VerifiedToken>(
    cacheOption('verifiedCacheMaxEntries', options.verifiedCacheMaxEntries, 10_000),
    cacheOption('verifiedCacheMaxAgeMs', options.verifiedCacheMaxAgeMs, 60_000),
  );
  const secret = options.secret ? hmacKeys(new TextEncoder().encode(options.secret)) : undefined;
  const jwks: JWTVerifyGetKey | undefined = jwksUrl
    ? createRemoteJWKSet(jwksUrl, {
        cacheMaxAge: options.jwksCacheMaxAgeMs ?? 600_000,
        cooldownDuration: options.jwksCooldownMs ?? 30_000,
        timeoutDuration: options.jwksTimeoutMs ?? 2_000,
      })
    : undefined;

  const verify = async (token: string | undefined): Promise<VerifiedToken> => {
    if (token === undefined || token === '') throw new TokenRejectedError('missing');
    const cached = cache.get(token, Date.now());
    if (cached !== undefined) return cached;
    if (!JWT.test(token)) throw new TokenRejectedError('malformed');
    let payload;
    try {
      ({ payload } = secret
        ? await jwtVerify(token, secret, verifyOptions)
        : await jwtVerify(token, jwks!, verifyOptions));
    } catch (error) {
      if (jwks && (!(error instanceof errors.JOSEError) || KEYS_UNAVAILABLE.has(error.code))) {
        throw new TokenKeysUnavailableError({ cause: error });
      }
      if (error instanceof errors.JWTClaimValidationFailed && error.claim === 'sub') {
        throw new TokenRejectedError('no_subject', { cause: error });
      }
      throw new TokenRejectedError(error instanceof errors.JWTExpired ? 'expired' : 'invalid', {
        cause: error,
      });
    }
    if (typeof payload.sub !== 'string' || payload.sub === '') throw new TokenRejectedError('no_subject');
    const verified: VerifiedToken = {
      subject: payload.sub,
      expiresAt: typeof payload.exp === 'number' ? payload.exp * 1000 : undefined,
    };
    cache.set(token, verified, Date.now(), verified.expiresAt);
    return verified;
  };
  return Object.assign(verify, { cached: (token: string) => cache.get(token, Date.now()) });
}

function cacheOption(name: string, value: number | undefined, fallback: number): number {
  return numberOption(name, value, fallback, { min: 0, integer: true });
}

const HMAC_HASH: Record<string, string> = { HS256: 'SHA-256', HS384: 'SHA-384', HS512: 'SHA-512' };

/**
 * The shared secret as jose's key resolver: one WebCrypto key per HMAC algorithm, imported once
 * (given the raw bytes, jose imports the key again on every verification). jose still enforces the
 * `algorithms` allow-list; a non-HMAC `alg` gets the raw bytes, which jose rejects as before.
 */
function hmacKeys(secret: Uint8Array): JWTVerifyGetKey {
  const imported = new Map<string, Promise<webcrypto.CryptoKey>>();
  return (header) => {
    const hash = HMAC_HASH[header.alg ?? ''];
    if (hash === undefined) return secret;
    let key = imported.get(hash);
    if (key === undefined) {
      key = webcrypto.subtle.importKey('raw', secret, { name: 'HMAC', hash }, false, ['verify']);
      imported.set(hash, key);
    }
    return key;
  };
}

/** The token of an `Authorization: Bearer …` header (undefined when absent or another scheme). */
export function bearerToken(header: string | undefined): string | undefined {
  const match = header === undefined ? null : /^Bearer +(\S+)$/i.exec(header);
  return match ? match[1] : undefined;
}
