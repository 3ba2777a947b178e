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

export type Authenticate = (authorization: string | undefined) => Promise<string>;

/** Verifies `Authorization: Bearer <JWT>` and returns its `sub` (the principal that owns jobs). */
export function createAuthenticator(options: AuthOptions): Authenticate {
  const verify = createTokenVerifier(options);
  return async (authorization) => {
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
