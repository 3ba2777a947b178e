import { TetherInvalidOptionError } from '@tether/errors';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { OutageOptionsError, OutageTracker, type OutageTrackerOptions } from '../src/index.ts';

describe('@tether/outage public surface', () => {
  it('pins the option error and the tracker constructor', () => {
    expectTypeOf<OutageOptionsError>().toEqualTypeOf<TetherInvalidOptionError>();
    expectTypeOf(OutageTracker).constructorParameters.toEqualTypeOf<[options: OutageTrackerOptions]>();
    expectTypeOf<OutageTrackerOptions['dependency']>().toEqualTypeOf<string>();

    expect(OutageOptionsError).toBe(TetherInvalidOptionError);
  });
});
