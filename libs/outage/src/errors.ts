/**
 * A bad option passed to `new OutageTracker()`. Thrown at construction so that a wrong option is a
 * start-up error, never a surprise in the middle of an outage. This lib depends on
 * `@opentelemetry/api` only, so it carries the Tether error shape (`code`, `retryable`) itself
 * instead of extending `@tether/retry`'s `TetherError`.
 */
export class OutageOptionsError extends Error {
  readonly code = 'TETHER_OUTAGE_INVALID_OPTION';
  readonly retryable = false;
  /** The option that was wrong, e.g. `dependency`. */
  readonly field: string;

  constructor(field: string, message: string) {
    super(`OutageTracker option "${field}" ${message}`);
    this.name = 'OutageOptionsError';
    this.field = field;
  }
}
