import { TetherError, TetherInvalidOptionError } from '@tether/errors';

/**
 * A bad `startTelemetry()` option or `OTEL_*` variable: the shared `TetherInvalidOptionError` (code
 * `TETHER_INVALID_OPTION`, `field` names it, e.g. `sampleRatio` or `OTEL_TRACES_SAMPLER_ARG`).
 * Thrown at start-up, so a typo in a chart is one clear message instead of silently missing traces.
 *
 * @deprecated Use `TetherInvalidOptionError` from `@tether/errors` (the same class). The code was
 * `TETHER_TELEMETRY_INVALID_OPTION` before the libs shared one.
 */
export const TelemetryConfigError = TetherInvalidOptionError;
/** @deprecated Use `TetherInvalidOptionError` from `@tether/errors`. */
export type TelemetryConfigError = TetherInvalidOptionError;

/** `startTelemetry()` called while an earlier instance is still running (the SDK is process-global). */
export class TelemetryAlreadyStartedError extends TetherError {
  declare readonly code: 'TETHER_TELEMETRY_ALREADY_STARTED';
  constructor() {
    super(
      'TETHER_TELEMETRY_ALREADY_STARTED',
      'telemetry is already started in this process; call shutdown() on the running instance first',
      { retryable: false },
    );
  }
}
