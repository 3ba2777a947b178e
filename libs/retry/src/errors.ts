import { TetherError, TetherInvalidOptionError } from '@tether/errors';
import { redactText } from '@tether/redact';

// The base moved to @tether/errors (a Postgres-only app recognises every lib's errors without this
// lib); re-exported here so `import { TetherError } from '@tether/retry'` keeps working.
export { TetherError };

/**
 * @deprecated Use `TetherInvalidOptionError` from `@tether/errors` (the same class). The culprit is
 * now `field` (it was `option`), as in every other lib.
 */
export const InvalidOptionError = TetherInvalidOptionError;
/** @deprecated Use `TetherInvalidOptionError` from `@tether/errors`. */
export type InvalidOptionError = TetherInvalidOptionError;

/** A retried operation still failed after `attempts` attempts; `cause` is the last attempt's error. */
export class RetryExhaustedError extends TetherError {
  declare readonly code: 'TETHER_RETRY_EXHAUSTED';
  readonly attempts: number;
  constructor(name: string, attempts: number, cause: unknown) {
    super('TETHER_RETRY_EXHAUSTED', `${name}: still failing after ${attempts} attempts: ${describe(cause)}`, {
      retryable: true,
      cause,
    });
    this.attempts = attempts;
  }
}

/**
 * The operation's deadline passed (or would pass before the next attempt could start); `cause` is the
 * last attempt's error, or the abort reason when the first attempt was still running.
 */
export class DeadlineExceededError extends TetherError {
  declare readonly code: 'TETHER_DEADLINE_EXCEEDED';
  readonly attempts: number;
  readonly deadlineMs: number;
  constructor(name: string, deadlineMs: number, attempts: number, cause: unknown) {
    super(
      'TETHER_DEADLINE_EXCEEDED',
      `${name}: deadline of ${deadlineMs} ms exceeded after ${attempts} attempt(s): ${describe(cause)}`,
      {
        retryable: true,
        cause,
      },
    );
    this.attempts = attempts;
    this.deadlineMs = deadlineMs;
  }
}

/**
 * The dependency's retry budget is spent: retrying now would multiply the load on a dependency that is
 * already failing. Not retryable: the caller should fail the request (503) rather than loop.
 */
export class RetryBudgetExhaustedError extends TetherError {
  declare readonly code: 'TETHER_RETRY_BUDGET_EXHAUSTED';
  readonly attempts: number;
  constructor(name: string, attempts: number, cause: unknown) {
    super(
      'TETHER_RETRY_BUDGET_EXHAUSTED',
      `${name}: retry budget exhausted after ${attempts} attempt(s): ${describe(cause)}`,
      {
        retryable: false,
        cause,
      },
    );
    this.attempts = attempts;
  }
}

/**
 * The dependency's circuit breaker is open: the call failed fast without reaching the dependency.
 * `retryable` because nothing was sent; try again after `halfOpenAfterMs`.
 */
export class BreakerOpenError extends TetherError {
  declare readonly code: 'TETHER_BREAKER_OPEN';
  readonly dependency: string;
  constructor(dependency: string, cause?: unknown) {
    super(
      'TETHER_BREAKER_OPEN',
      `${dependency}: circuit breaker is open, failing fast`,
      cause === undefined ? { retryable: true } : { retryable: true, cause },
    );
    this.dependency = dependency;
  }
}

// Messages carry the cause's code and message only, never the error object itself (it may hold a
// client config). Credentials inside the message are masked by the shared rule of @tether/redact
// (URL credentials, `dbPassword=`, `x-api-key:`, bearer tokens, JWTs), the same one logs, spans,
// config errors and outage descriptions use, so `max_tokens=5` stays readable everywhere alike.
function describe(error: unknown): string {
  let text: string;
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    text = typeof code === 'string' ? `${code} ${error.message}` : error.message;
  } else {
    text = typeof error === 'string' ? error : typeof error;
  }
  return redactText(text);
}
