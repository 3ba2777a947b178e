import type { NextFunction, Request, Response } from 'express';
import { createRemoteJWKSet, errors, jwtVerify, type JWTVerifyGetKey, type JWTVerifyOptions } from 'jose';
import { ProblemError } from './problems.ts';

export interface AuthOptions {
  /** HS256 shared secret (AUTH_JWT_SECRET). Exactly one of this and `jwksUrl`. */
  secret?: string;
  /** JWKS endpoint (AUTH_JWKS_URL); keys are cached and re-fetched when a token names an unknown `kid`. */
  jwksUrl?: string;
  /** Accepted `alg` values. Default: `['HS256']` with a secret, `['RS256', 'ES256', 'EdDSA']` with JWKS. `none` is never accepted. */
  algorithms?: string[];
  /** Allowed clock skew for `exp` / `nbf` / `iat`, seconds. Default 5. */
  clockToleranceS?: number;
  /** Required `iss`, when set. */
  issuer?: string;
  /** Required `aud`, when set. */
  audience?: string;
  /** How long fetched JWKS keys are used before a re-fetch, ms. Default 600000 (10 min). */
  jwksCacheMaxAgeMs?: number;
  /** Minimum time between two JWKS fetches triggered by unknown `kid`s, ms. Default 30000. */
  jwksCooldownMs?: number;
  /** JWKS fetch timeout, ms. Default 2000 (below the request deadline). */
  jwksTimeoutMs?: number;
}

/** Failures of the key source itself (JWKS endpoint down, slow or answering garbage): we could not check the token (503). */
// ERR_JOSE_GENERIC is what jose throws for a non-200 answer of the JWKS endpoint.
const KEYS_UNAVAILABLE = new Set(['ERR_JWKS_TIMEOUT', 'ERR_JWKS_INVALID', 'ERR_JOSE_GENERIC']);

const BEARER = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*)$/;

export type Authenticate = (authorization: string | undefined) => Promise<string>;

/** Verifies `Authorization: Bearer <JWT>` and returns its `sub` (the principal that owns jobs). */
export function createAuthenticator(options: AuthOptions): Authenticate {
  if (Boolean(options.secret) === Boolean(options.jwksUrl)) {
    throw new Error('auth: set exactly one of secret (AUTH_JWT_SECRET) and jwksUrl (AUTH_JWKS_URL)');
  }
  const algorithms = options.algorithms ?? (options.secret ? ['HS256'] : ['RS256', 'ES256', 'EdDSA']);
  if (algorithms.length === 0 || algorithms.some((a) => a.toLowerCase() === 'none')) {
    throw new Error('auth.algorithms: must be non-empty and must not contain "none"');
  }
  const clockToleranceS = options.clockToleranceS ?? 5;
  if (!Number.isFinite(clockToleranceS) || clockToleranceS < 0) {
    throw new Error('auth.clockToleranceS: must be a number >= 0');
  }
  const verifyOptions: JWTVerifyOptions = {
    algorithms,
    clockTolerance: clockToleranceS,
    requiredClaims: ['sub'],
    ...(options.issuer ? { issuer: options.issuer } : {}),
    ...(options.audience ? { audience: options.audience } : {}),
  };
  const key: Uint8Array | JWTVerifyGetKey = options.secret
    ? new TextEncoder().encode(options.secret)
    : createRemoteJWKSet(new URL(options.jwksUrl!), {
        cacheMaxAge: options.jwksCacheMaxAgeMs ?? 600_000,
        cooldownDuration: options.jwksCooldownMs ?? 30_000,
        timeoutDuration: options.jwksTimeoutMs ?? 2_000,
      });

  return async (authorization) => {
    const match = authorization === undefined ? null : BEARER.exec(authorization);
    if (!match) throw unauthorized(authorization === undefined ? undefined : 'malformed bearer token');
    let sub: unknown;
    try {
      // Two call shapes so TypeScript picks the right overload; the options are the same.
      const { payload } =
        key instanceof Uint8Array
          ? await jwtVerify(match[1]!, key, verifyOptions)
          : await jwtVerify(match[1]!, key, verifyOptions);
      sub = payload.sub;
    } catch (error) {
      const keysUnavailable =
        !(key instanceof Uint8Array) &&
        (!(error instanceof errors.JOSEError) || KEYS_UNAVAILABLE.has(error.code));
      if (keysUnavailable) {
        throw new ProblemError('service-unavailable', 'the token signing keys could not be fetched', {
          headers: { 'retry-after': '5' },
          cause: error,
        });
      }
      throw unauthorized(error instanceof errors.JWTExpired ? 'token expired' : 'token rejected');
    }
    if (typeof sub !== 'string' || sub === '') throw unauthorized('token has no subject');
    return sub;
  };
}

function unauthorized(detail?: string): ProblemError {
  return new ProblemError('unauthorized', detail, {
    headers: { 'www-authenticate': detail ? 'Bearer error="invalid_token"' : 'Bearer' },
  });
}

declare module 'express-serve-static-core' {
  interface Request {
    /** The authenticated principal (JWT `sub`); set by `requireAuth`. */
    principal?: string;
  }
}

export function requireAuth(authenticate: Authenticate) {
  return async (req: Request, _res: Response, next: NextFunction): Promise<void> => {
    req.principal = await authenticate(req.headers.authorization);
    next();
  };
}
