import { TetherError } from '@tether/retry';

/**
 * What a job handler throws to say how its failure should be treated. Anything else is classified by
 * @tether/retry's `classify()` (a dropped connection, 57P01… are transient); what it cannot place is
 * treated as permanent: retrying a bug five times only delays the `failed` the user needs to see.
 */
export class TransientJobError extends TetherError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('TETHER_JOB_TRANSIENT', message, { retryable: true, ...options });
    this.name = 'TransientJobError';
  }
}

export class PermanentJobError extends TetherError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('TETHER_JOB_PERMANENT', message, { retryable: false, ...options });
    this.name = 'PermanentJobError';
  }
}
