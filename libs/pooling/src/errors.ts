import { TetherError } from '@tether/retry';

/**
 * An option of `createPgPool` / `createRedis` is wrong. Thrown at creation, never later, so a bad
 * deployment fails at start-up with one message naming the field. Messages never echo secrets: a
 * malformed DSN is described, not repeated.
 */
export class PoolConfigError extends TetherError {
  /** The option at fault, e.g. `sslmode`, `max`, `passwordFile`, `connectionString`. */
  readonly field: string;
  constructor(field: string, message: string) {
    super('TETHER_POOL_INVALID_OPTION', `${field}: ${message}`, { retryable: false });
    this.name = 'PoolConfigError';
    this.field = field;
  }
}

/**
 * The pool or client is draining (shutdown started): new work is refused at once instead of queueing
 * behind a pool that is about to close. Not retryable here; another replica can take the request.
 */
export class PoolDrainingError extends TetherError {
  readonly dependency: string;
  readonly safety = 'never';
  constructor(dependency: string) {
    super('TETHER_POOL_DRAINING', `${dependency}: pool is draining, new work is refused`, {
      retryable: false,
    });
    this.name = 'PoolDrainingError';
    this.dependency = dependency;
  }
}

/**
 * The connection failed while COMMIT was in flight: the transaction may or may not have been applied.
 * Never retried automatically (a retry could apply it twice); the caller must check.
 */
export class CommitOutcomeUnknownError extends TetherError {
  readonly safety = 'never';
  constructor(cause: unknown) {
    super(
      'TETHER_PG_COMMIT_OUTCOME_UNKNOWN',
      'postgres: the connection failed during COMMIT; the transaction may or may not be applied',
      {
        retryable: false,
        cause,
      },
    );
    this.name = 'CommitOutcomeUnknownError';
  }
}

/**
 * A feature that cannot work through PgBouncer in transaction pooling (a named prepared statement)
 * was used with `pgbouncer: true`. A usage error: fix the call.
 */
export class PgBouncerUnsupportedError extends TetherError {
  constructor(feature: string) {
    super(
      'TETHER_PG_PGBOUNCER_UNSUPPORTED',
      `postgres: ${feature} is not supported in PgBouncer transaction pooling mode`,
      {
        retryable: false,
      },
    );
    this.name = 'PgBouncerUnsupportedError';
  }
}
