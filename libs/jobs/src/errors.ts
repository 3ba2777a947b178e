/** Base class: every error of this lib has a stable `code` a caller can branch on. */
export class JobsError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** The idempotency key was used before, by this owner, for a different request (HTTP 422). */
export class IdempotencyKeyReusedError extends JobsError {
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
  constructor() {
    super('TETHER_JOBS_INVALID_CURSOR', 'the cursor is malformed');
  }
}

/** A wrong argument to one of this lib's functions; the message starts with the field name. */
export class JobsInputError extends JobsError {
  constructor(message: string) {
    super('TETHER_JOBS_INVALID_INPUT', message);
  }
}

/** The job does not exist (or its row was deleted) where the caller required it. */
export class JobNotFoundError extends JobsError {
  readonly jobId: string;
  constructor(jobId: string) {
    super('TETHER_JOBS_NOT_FOUND', `job ${jobId} does not exist`);
    this.jobId = jobId;
  }
}
