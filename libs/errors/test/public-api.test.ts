import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  integerFromEnv,
  isTetherError,
  numberOption,
  oneOfOption,
  type TetherCode,
  TetherError,
  type TetherErrorOptions,
  TetherInvalidOptionError,
} from '../src/index.ts';

describe('@tether/errors public surface', () => {
  it('pins the base, the guard, the option error and the validators', () => {
    expectTypeOf<TetherError['code']>().toEqualTypeOf<TetherCode>();
    expectTypeOf<TetherError['retryable']>().toEqualTypeOf<boolean>();
    expectTypeOf<TetherInvalidOptionError['code']>().toEqualTypeOf<'TETHER_INVALID_OPTION'>();
    expectTypeOf<TetherInvalidOptionError['field']>().toEqualTypeOf<string>();
    expectTypeOf(isTetherError).guards.toEqualTypeOf<TetherError>();
    expectTypeOf(TetherError).constructorParameters.toEqualTypeOf<
      [code: TetherCode, message: string, options: TetherErrorOptions]
    >();
    // A code must start with TETHER_: a plain string is not accepted.
    expectTypeOf<[string, string, { retryable: boolean }]>().not.toMatchTypeOf<
      ConstructorParameters<typeof TetherError>
    >();
    expectTypeOf(oneOfOption<'a' | 'b'>).returns.toEqualTypeOf<'a' | 'b'>();
    expectTypeOf(numberOption).returns.toEqualTypeOf<number>();
    expectTypeOf(integerFromEnv).parameter(0).toMatchTypeOf<NodeJS.ProcessEnv>();

    const error = new TetherInvalidOptionError('max', 'must be an integer >= 1', { value: 0 });
    expect(error.code).toBe('TETHER_INVALID_OPTION');
    expect(error).toBeInstanceOf(TetherError);
  });
});
