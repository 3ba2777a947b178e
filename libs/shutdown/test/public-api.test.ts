import { TetherError, TetherInvalidOptionError } from '@tether/errors';
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { ShutdownError } from '../src/index.ts';
import {
  checkLifecycleBudget,
  createLifecycle,
  InvalidOptionError,
  type Lifecycle,
  type LifecycleBudget,
  LifecycleBudgetError,
  type LifecycleOptions,
  lifecycleOptionsFromEnv,
} from '../src/index.ts';

describe('@tether/shutdown public surface', () => {
  it('pins the code literals and the lifecycle signatures', () => {
    expectTypeOf<LifecycleBudgetError['code']>().toEqualTypeOf<'TETHER_LIFECYCLE_BUDGET'>();
    expectTypeOf<LifecycleBudgetError>().toMatchTypeOf<ShutdownError>();
    expectTypeOf<InvalidOptionError>().toEqualTypeOf<TetherInvalidOptionError>();
    expectTypeOf(createLifecycle).parameters.toEqualTypeOf<[options?: LifecycleOptions]>();
    expectTypeOf(createLifecycle).returns.toEqualTypeOf<Lifecycle>();
    expectTypeOf(checkLifecycleBudget).returns.toEqualTypeOf<LifecycleBudget>();
    expectTypeOf(lifecycleOptionsFromEnv).returns.toEqualTypeOf<
      Pick<LifecycleOptions, 'drainDelayMs' | 'shutdownTimeoutMs' | 'adminPort'>
    >();
    expectTypeOf<Lifecycle['addShutdownHook']>().returns.toEqualTypeOf<void>();

    expect(new LifecycleBudgetError('short', 2, 1)).toBeInstanceOf(TetherError);
    expect(InvalidOptionError).toBe(TetherInvalidOptionError);
  });
});
