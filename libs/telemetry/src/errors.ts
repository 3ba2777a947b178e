/**
 * A bad `startTelemetry()` option or `OTEL_*` variable. Thrown at start-up, naming the field, so a
 * typo in a chart is one clear message instead of silently missing traces.
 */
export class TelemetryConfigError extends Error {
  readonly code = 'TETHER_TELEMETRY_INVALID_OPTION';
  readonly retryable = false;
  /** The option or environment variable that was wrong, e.g. `sampleRatio` or `OTEL_TRACES_SAMPLER_ARG`. */
  readonly field: string;

  constructor(field: string, message: string) {
    super(`telemetry ${field} ${message}`);
    this.name = 'TelemetryConfigError';
    this.field = field;
  }
}

/** `startTelemetry()` called while an earlier instance is still running (the SDK is process-global). */
export class TelemetryAlreadyStartedError extends Error {
  readonly code = 'TETHER_TELEMETRY_ALREADY_STARTED';
  readonly retryable = false;

  constructor() {
    super('telemetry is already started in this process; call shutdown() on the running instance first');
    this.name = 'TelemetryAlreadyStartedError';
  }
}
