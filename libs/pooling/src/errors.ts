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
 * The connection failed, or the call's deadline passed, while COMMIT was in flight: the transaction
 * may or may not have been applied. Never retried automatically (a retry could apply it twice); the
 * caller must check (e.g. look the row up by its id).
 */
export class CommitOutcomeUnknownError extends TetherError {
  readonly safety = 'never';
  constructor(cause: unknown) {
    super(
      'TETHER_PG_COMMIT_OUTCOME_UNKNOWN',
      'postgres: the connection failed or the deadline passed during COMMIT; the transaction may or may not be applied',
      {
        retryable: false,
        cause,
      },
    );
    this.name = 'CommitOutcomeUnknownError';
  }
}

/**
 * `transaction()` did not commit: a statement failed inside it and the callback went on (it caught
 * the error), so Postgres would answer COMMIT with ROLLBACK — or did. Nothing of the transaction was
 * applied. `cause` is the statement error that aborted it (e.g. a 23505 the callback swallowed).
 */
export class TransactionRolledBackError extends TetherError {
  readonly safety = 'never';
  constructor(cause: unknown) {
    super(
      'TETHER_PG_TRANSACTION_ROLLED_BACK',
      'postgres: a statement failed inside the transaction, so it was rolled back instead of committed',
      cause === undefined ? { retryable: false } : { retryable: false, cause },
    );
    this.name = 'TransactionRolledBackError';
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
