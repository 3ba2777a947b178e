import { CommitOutcomeUnknownError } from '@tether/pooling';
import { createBackoff } from '@tether/retry';

/**
 * Sends `write` again while its COMMIT's outcome is unknown (the connection died with COMMIT on the
 * wire: @tether/pooling never retries that itself), until `deadlineMs` has passed. Only for writes
 * that are fenced so a landed first try turns the second into a no-op that reports it: the claim
 * (a `running` job under this run's own token), a progress report (`afterSeq`), a final transition
 * or a requeue (`from: running` + the lease token).
 */
export async function resendWhileUnknown<T>(write: () => Promise<T>, deadlineMs: number): Promise<T> {
  const deadlineAt = performance.now() + deadlineMs;
  const backoff = createBackoff({ initialDelayMs: 50, maxDelayMs: 1_000 });
  for (;;) {
    try {
      return await write();
    } catch (error) {
      if (!(error instanceof CommitOutcomeUnknownError) || performance.now() > deadlineAt) throw error;
      await new Promise((r) => setTimeout(r, backoff.next()));
    }
  }
}
