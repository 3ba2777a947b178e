import { TetherError, TetherInvalidOptionError } from '@tether/errors';

/**
 * Errors of this lib a caller can act on. Codes are stable (`TETHER_*`); branch on `code`, never on
 * the message. Both kinds are configuration mistakes: retrying cannot fix them (`retryable` false).
 */
export class ShutdownError extends TetherError {
  constructor(code: `TETHER_${string}`, message: string, options?: ErrorOptions) {
    super(code, message, { ...options, retryable: false });
  }
}

/**
 * An option or environment variable has a bad value: the shared `TetherInvalidOptionError` (code
 * `TETHER_INVALID_OPTION`, `field` names it, e.g. `SHUTDOWN_TIMEOUT_MS`).
 *
 * @deprecated Use `TetherInvalidOptionError` from `@tether/errors` (the same class). It no longer
 * extends `ShutdownError`: match it with `isTetherError(e) && e.code === 'TETHER_INVALID_OPTION'`.
 */
export const InvalidOptionError = TetherInvalidOptionError;
/** @deprecated Use `TetherInvalidOptionError` from `@tether/errors`. */
export type InvalidOptionError = TetherInvalidOptionError;

/** terminationGracePeriodSeconds is too short for preStop sleep + drain delay + shutdown timeout + margin. */
export class LifecycleBudgetError extends ShutdownError {
  declare readonly code: 'TETHER_LIFECYCLE_BUDGET';
  readonly requiredMs: number;
  readonly availableMs: number;
  constructor(message: string, requiredMs: number, availableMs: number) {
    super('TETHER_LIFECYCLE_BUDGET', message);
    this.requiredMs = requiredMs;
    this.availableMs = availableMs;
  }
}
