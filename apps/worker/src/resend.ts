import { CommitOutcomeUnknownError } from '@tether/pooling';
import { createBackoff, type BackoffOptions } from '@tether/retry';

/**
 * Sends `write` again while its COMMIT's outcome is unknown (the connection died with COMMIT on the
 * wire: @tether/pooling never retries that itself), until `deadlineMs` has passed. Only for writes
 * that are fenced so a landed first try turns the second into a no-op that reports it: the claim
 * (a `running` job under this run's own token), a progress report (`afterSeq`), a final transition
 * or a requeue (`from: running` + the lease token).
 */
export function resendWhileUnknown<T>(write: () => Promise<T>, deadlineMs: number): Promise<T> {
  return retryWhile(write, (error) => error instanceof CommitOutcomeUnknownError, deadlineMs, {
    initialDelayMs: 50,
    maxDelayMs: 1_000,
  });
}

/**
 * Runs `attempt` again, after a backoff, while it fails with an error `retryable` accepts and
 * `deadlineMs` has not passed; then rethrows the last error. Unlike @tether/retry's policy it never
 * cuts an attempt in flight (a write whose COMMIT is on the wire must be allowed to finish) and
 * throws the attempt's own error, not a deadline error.
 */
export async function retryWhile<T>(
  attempt: () => Promise<T>,
  retryable: (error: unknown) => boolean,
  deadlineMs: number,
  backoffOptions: BackoffOptions,
): Promise<T> {
  const deadlineAt = performance.now() + deadlineMs;
  const backoff = createBackoff(backoffOptions);
  for (;;) {
    try {
      return await attempt();
    } catch (error) {
      if (!retryable(error) || performance.now() > deadlineAt) throw error;
      await new Promise((r) => setTimeout(r, backoff.next()));
    }
  }
}
