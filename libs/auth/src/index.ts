export {
  AuthOptionError,
  bearerToken,
  createTokenVerifier,
  TokenKeysUnavailableError,
  TokenRejectedError,
  type TokenVerifier,
  type TokenVerifierOptions,
  type VerifiedToken,
} from './verifier.ts';
