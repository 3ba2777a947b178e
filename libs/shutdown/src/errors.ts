/**
 * Errors a caller can act on. Codes are stable (`TETHER_*`); branch on `code`, never on the message.
 * Both are configuration mistakes: retrying cannot fix them, so `retryable` is always false.
 */
export class ShutdownError extends Error {
  readonly code: string;
  readonly retryable = false;
  constructor(code: `TETHER_${string}`, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ShutdownError';
    this.code = code;
  }
}

/** An option or environment variable has a bad value. `field` names it (e.g. `SHUTDOWN_TIMEOUT_MS`). */
export class InvalidOptionError extends ShutdownError {
  readonly field: string;
  constructor(field: string, message: string) {
    super('TETHER_INVALID_OPTION', `${field} ${message}`);
    this.name = 'InvalidOptionError';
    this.field = field;
  }
}

/** terminationGracePeriodSeconds is too short for preStop sleep + drain delay + shutdown timeout + margin. */
export class LifecycleBudgetError extends ShutdownError {
  readonly requiredMs: number;
  readonly availableMs: number;
  constructor(message: string, requiredMs: number, availableMs: number) {
    super('TETHER_LIFECYCLE_BUDGET', message);
    this.name = 'LifecycleBudgetError';
    this.requiredMs = requiredMs;
    this.availableMs = availableMs;
  }
}
