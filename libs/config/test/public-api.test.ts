import { TetherError } from '@tether/errors';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { ConfigError } from '../src/index.ts';

describe('@tether/config public surface', () => {
  it('pins ConfigError: its own code, every wrong variable at once', () => {
    expectTypeOf<ConfigError['code']>().toEqualTypeOf<'TETHER_CONFIG_INVALID'>();
    expectTypeOf<ConfigError['variables']>().toEqualTypeOf<string[]>();
    expectTypeOf(ConfigError).constructorParameters.toEqualTypeOf<
      [problems: { variable: string; problem: string }[]]
    >();

    const error = new ConfigError([{ variable: 'PORT', problem: 'must be a port number' }]);
    expect(error).toBeInstanceOf(TetherError);
    expect(error).toMatchObject({ code: 'TETHER_CONFIG_INVALID', retryable: false, variables: ['PORT'] });
  });
});
