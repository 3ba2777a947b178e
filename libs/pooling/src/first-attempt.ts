import { type AttemptContext, type CallOptions, classify, type RetryPolicy } from '@tether/retry';

/**
 * The first attempt of an operation runs outside the retry policy; the policy takes over only if
 * that attempt failed with something worth retrying. Nearly every call succeeds first time, and the
 * policy's per-call machinery (AbortController, timer, promise race, span bookkeeping) measurably
 * costs throughput on a hot path of ~50 µs operations (see tools/bench/src/pooling.bench.ts).
 *
 * Callers use this only when the first attempt bounds its own time (pg's per-query timeout, a
 * timer) and no budget or breaker needs to see every call.
 */
export function worthRetrying(
  error: unknown,
  call: Pick<CallOptions, 'idempotent' | 'transaction'>,
): boolean {
  const c = classify(error);
  if (c.kind !== 'transient') return false;
  if (c.retryTransaction) return call.transaction === true;
  return c.safety === 'always' || (c.safety === 'idempotent' && call.idempotent === true);
}

/**
 * Hands a failed first attempt to the policy: its attempt 1 replays the failure we already saw (so
 * classification, backoff, the retry span and its events are exactly as if the policy had run it),
 * and its later attempts run `attempt` for real.
 */
export function continueWithPolicy<T>(
  policy: RetryPolicy,
  firstError: unknown,
  attempt: (ctx: AttemptContext) => Promise<T>,
  call: CallOptions,
): Promise<T> {
  let replayed = false;
  return policy.execute((ctx) => {
    if (!replayed) {
      replayed = true;
      return Promise.reject(firstError);
    }
    return attempt(ctx);
  }, call);
}
