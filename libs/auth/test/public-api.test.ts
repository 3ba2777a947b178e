import type { TetherInvalidOptionError } from '@tether/errors';
import { TetherError } from '@tether/errors';
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { AuthOptionError } from '../src/index.ts';
import {
  createTokenVerifier,
  TokenKeysUnavailableError,
  TokenRejectedError,
  type TokenVerifier,
  type VerifiedToken,
} from '../src/index.ts';

describe('@tether/auth public surface', () => {
  it('pins the code literals and the verifier signature', () => {
    expectTypeOf<TokenRejectedError['code']>().toEqualTypeOf<'TETHER_AUTH_TOKEN_REJECTED'>();
    expectTypeOf<TokenKeysUnavailableError['code']>().toEqualTypeOf<'TETHER_AUTH_KEYS_UNAVAILABLE'>();
    expectTypeOf<TokenRejectedError['reason']>().toEqualTypeOf<
      'missing' | 'malformed' | 'expired' | 'invalid' | 'no_subject'
    >();
    expectTypeOf<AuthOptionError>().toEqualTypeOf<TetherInvalidOptionError>();
    expectTypeOf(createTokenVerifier).returns.toEqualTypeOf<TokenVerifier>();
    expectTypeOf<TokenVerifier>().returns.toEqualTypeOf<Promise<VerifiedToken>>();

    expect(new TokenRejectedError('expired')).toBeInstanceOf(TetherError);
    expect(new TokenKeysUnavailableError().retryable).toBe(true);
  });
});
