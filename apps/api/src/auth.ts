import type { NextFunction, Request, Response } from 'express';
import {
  bearerToken,
  createTokenVerifier,
  TokenKeysUnavailableError,
  TokenRejectedError,
  type TokenVerifierOptions,
} from '@tether/auth';
import { ProblemError } from './problems.ts';

/** The token policy is @tether/auth's (shared with the WebSocket gateway); its options unchanged. */
export type AuthOptions = TokenVerifierOptions;

/** The principal of an `Authorization` header: at once when the token is known, else a promise. */
export type Authenticate = (authorization: string | undefined) => string | Promise<string>;

const BEARER = 'Bearer ';

/** Verifies `Authorization: Bearer <JWT>` and returns its `sub` (the principal that owns jobs). */
export function createAuthenticator(options: AuthOptions): Authenticate {
  const verify = createTokenVerifier(options);
  const authenticate = async (authorization: string | undefined): Promise<string> => {
    const token = bearerToken(authorization);
    try {
      return (await verify(token)).subject;
    } catch (error) {
      if (error instanceof TokenKeysUnavailableError) {
        throw new ProblemError('service-unavailable', 'the token signing keys could not be fetched', {
          headers: { 'retry-after': '5' },
          cause: error,
        });
      }
      if (!(error instanceof TokenRejectedError)) throw error;
      if (authorization === undefined) throw unauthorized();
      const detail =
        token === undefined || error.reason === 'malformed'
          ? 'malformed bearer token'
          : error.reason === 'expired'
            ? 'token expired'
            : error.reason === 'no_subject'
              ? 'token has no subject'
              : 'token rejected';
      throw unauthorized(detail);
    }
  };
  return (authorization) => {
    // A token that verified before, as every request of a client carries it: straight from the
    // verifier's cache, no promise and no header regex. Only verified tokens are cached, and those
    // came out of bearerToken(), so "Bearer <cached token>" is exactly a header it accepts.
    if (authorization !== undefined && authorization.startsWith(BEARER)) {
      const known = verify.cached(authorization.slice(BEARER.length));
      if (known !== undefined) return known.subject;
    }
    return authenticate(authorization);
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
  return (req: Request, _res: Response, next: NextFunction): Promise<void> | undefined => {
    const principal = authenticate(req.headers.authorization);
    if (typeof principal === 'string') {
      req.principal = principal;
      next();
      return undefined;
    }
    // Express 5 turns a rejection of the returned promise into next(error).
    return principal.then((subject) => {
      req.principal = subject;
      next();
    });
  };
}
