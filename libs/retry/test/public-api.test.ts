import { TetherError as SharedTetherError, TetherInvalidOptionError } from '@tether/errors';
import { describe, expect, expectTypeOf, it } from 'vitest';
import type {
  BreakerOpenError,
  DeadlineExceededError,
  RetryBudgetExhaustedError,
  RetryExhaustedError,
} from '../src/index.ts';
import {
  classify,
  type Classification,
  createRetryPolicy,
  InvalidOptionError,
  type RetryPolicy,
  TetherError,
} from '../src/index.ts';

describe('@tether/retry public surface', () => {
  it('pins the code literals, the re-exported base and the main signatures', () => {
    expectTypeOf<RetryExhaustedError['code']>().toEqualTypeOf<'TETHER_RETRY_EXHAUSTED'>();
    expectTypeOf<DeadlineExceededError['code']>().toEqualTypeOf<'TETHER_DEADLINE_EXCEEDED'>();
    expectTypeOf<RetryBudgetExhaustedError['code']>().toEqualTypeOf<'TETHER_RETRY_BUDGET_EXHAUSTED'>();
    expectTypeOf<BreakerOpenError['code']>().toEqualTypeOf<'TETHER_BREAKER_OPEN'>();
    expectTypeOf<InvalidOptionError>().toEqualTypeOf<TetherInvalidOptionError>();
    expectTypeOf<InvalidOptionError['field']>().toEqualTypeOf<string>();
    expectTypeOf<DeadlineExceededError['attempts']>().toEqualTypeOf<number>();
    expectTypeOf(createRetryPolicy).returns.toEqualTypeOf<RetryPolicy>();
    expectTypeOf(classify).returns.toEqualTypeOf<Classification>();
    expectTypeOf<RetryPolicy['execute']>().returns.toEqualTypeOf<Promise<unknown>>();

    // Compatibility: the base and the option error are the shared classes themselves.
    expect(TetherError).toBe(SharedTetherError);
    expect(InvalidOptionError).toBe(TetherInvalidOptionError);
  });
});
