import { TetherError, type TetherCode } from '@tether/errors';

/**
 * Base class: every error of this lib has a stable `code` a caller can branch on. None is retryable:
 * each is about the request itself (a reused key, a bad cursor, a missing job), not a dependency.
 */
export class JobsError extends TetherError {
  constructor(code: TetherCode, message: string, options?: ErrorOptions) {
    super(code, message, { ...options, retryable: false });
  }
}

/** The idempotency key was used before, by this owner, for a different request (HTTP 422). */
export class IdempotencyKeyReusedError extends JobsError {
  declare readonly code: 'TETHER_JOBS_IDEMPOTENCY_KEY_REUSED';
  /** The job the key belongs to. */
  readonly jobId: string;
  constructor(jobId: string) {
    super(
      'TETHER_JOBS_IDEMPOTENCY_KEY_REUSED',
      'this Idempotency-Key was already used with a different request',
    );
    this.jobId = jobId;
  }
}

/** A pagination cursor that this lib did not produce (HTTP 400). */
export class InvalidCursorError extends JobsError {
  declare readonly code: 'TETHER_JOBS_INVALID_CURSOR';
  constructor() {
    super('TETHER_JOBS_INVALID_CURSOR', 'the cursor is malformed');
  }
}

/** A wrong argument to one of this lib's functions; the message starts with the field name. */
export class JobsInputError extends JobsError {
  declare readonly code: 'TETHER_JOBS_INVALID_INPUT';
  constructor(message: string) {
    super('TETHER_JOBS_INVALID_INPUT', message);
  }
}

/** The job does not exist (or its row was deleted) where the caller required it. */
export class JobNotFoundError extends JobsError {
  declare readonly code: 'TETHER_JOBS_NOT_FOUND';
  readonly jobId: string;
  constructor(jobId: string) {
    super('TETHER_JOBS_NOT_FOUND', `job ${jobId} does not exist`);
    this.jobId = jobId;
  }
}
