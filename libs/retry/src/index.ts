export { attemptsOf } from './attempt-count.ts';
export {
  AttemptRecord,
  attemptClassification,
  mayRetryAttempt,
  trackCommand,
  type AttemptFlags,
} from './attempt-safety.ts';
export { createBackoff, type Backoff, type BackoffOptions, type Jitter } from './backoff.ts';
export { CircuitBreaker, type BreakerState, type CircuitBreakerOptions } from './breaker.ts';
export { RetryBudget, type RetryBudgetOptions } from './budget.ts';
export { permanent, transient, type Classification } from './classification.ts';
export { classify } from './classify.ts';
export { classifyPgBouncer } from './classify-pgbouncer.ts';
export {
  BreakerOpenError,
  DeadlineExceededError,
  InvalidOptionError,
  RetryBudgetExhaustedError,
  RetryExhaustedError,
  TetherError,
} from './errors.ts';
export {
  createRetryPolicy,
  type AttemptContext,
  type CallOptions,
  type RetryPolicy,
  type RetryPolicyOptions,
} from './policy.ts';
export { parseRetryAfter } from './retry-after.ts';
