import { TetherError } from '@tether/errors';

/**
 * What a job handler throws to say how its failure should be treated. Anything else is classified by
 * @tether/retry's `classify()` (a dropped connection, 57P01… are transient); what it cannot place is
 * treated as permanent: retrying a bug five times only delays the `failed` the user needs to see.
 */
export class TransientJobError extends TetherError {
  declare readonly code: 'TETHER_JOB_TRANSIENT';
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('TETHER_JOB_TRANSIENT', message, { ...options, retryable: true });
  }
}

/** A failure no retry can fix: the job ends `failed` at once. */
export class PermanentJobError extends TetherError {
  declare readonly code: 'TETHER_JOB_PERMANENT';
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('TETHER_JOB_PERMANENT', message, { ...options, retryable: false });
  }
}
