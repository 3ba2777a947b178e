import {
  type AttemptContext,
  type AttemptRecord,
  type CallOptions,
  type Classification,
  classify as defaultClassify,
  mayRetryAttempt,
  type RetryPolicy,
} from '@tether/retry';

/**
 * The first attempt of an operation runs outside the retry policy; the policy takes over only if
 * that attempt failed with something worth retrying. Nearly every call succeeds first time, and the
 * policy's per-call machinery (AbortController, timer, promise race, span bookkeeping) measurably
 * costs throughput on a hot path of ~50 µs operations (see tools/bench/src/pooling.bench.ts).
 *
 * Callers use this only when the first attempt bounds its own time (pg's per-query timeout, a
 * timer) and no budget or breaker needs to see every call. The decision is @tether/retry's
 * `mayRetryAttempt`, the same rule the policy applies to later attempts.
 */
export function worthRetrying(
  error: unknown,
  call: Pick<CallOptions, 'idempotent' | 'transaction'>,
  sent?: AttemptRecord,
  classify: (error: unknown) => Classification = defaultClassify,
): boolean {
  return mayRetryAttempt(classify(error), sent?.anySent ?? false, call);
}

/**
 * Hands a failed first attempt to the policy: its attempt 1 replays the failure we already saw (so
 * classification, backoff, the retry span and its events are exactly as if the policy had run it,
 * including what that attempt had sent), and its later attempts run `attempt` for real.
 */
export function continueWithPolicy<T>(
  policy: RetryPolicy,
  firstError: unknown,
  attempt: (ctx: AttemptContext) => Promise<T>,
  call: CallOptions,
  firstSent?: AttemptRecord,
): Promise<T> {
  let replayed = false;
  return policy.execute((ctx) => {
    if (!replayed) {
      replayed = true;
      if (firstSent?.anySent) ctx.sent.commandSent();
      return Promise.reject(firstError);
    }
    return attempt(ctx);
  }, call);
}
