import { TetherError, TetherInvalidOptionError } from '@tether/errors';
import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  startTelemetry,
  type Telemetry,
  TelemetryAlreadyStartedError,
  TelemetryConfigError,
  type TelemetryOptions,
} from '../src/index.ts';

describe('@tether/telemetry public surface', () => {
  it('pins the code literals and startTelemetry', () => {
    expectTypeOf<TelemetryAlreadyStartedError['code']>().toEqualTypeOf<'TETHER_TELEMETRY_ALREADY_STARTED'>();
    expectTypeOf<TelemetryConfigError>().toEqualTypeOf<TetherInvalidOptionError>();
    expectTypeOf(startTelemetry).parameters.toEqualTypeOf<[options: TelemetryOptions]>();
    expectTypeOf(startTelemetry).returns.toEqualTypeOf<Telemetry>();
    expectTypeOf<TelemetryOptions['serviceName']>().toEqualTypeOf<string>();

    expect(new TelemetryAlreadyStartedError()).toBeInstanceOf(TetherError);
    expect(TelemetryConfigError).toBe(TetherInvalidOptionError);
  });
});
