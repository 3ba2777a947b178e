import { TetherError, TetherInvalidOptionError } from '@tether/errors';

/**
 * An option of `createPgPool` / `createRedis` is wrong: the shared `TetherInvalidOptionError`
 * (code `TETHER_INVALID_OPTION`, `field` names the option). Thrown at creation, never later.
 * Messages never echo secrets: a malformed DSN is described, not repeated.
 *
 * @deprecated Use `TetherInvalidOptionError` from `@tether/errors` (the same class). The code was
 * `TETHER_POOL_INVALID_OPTION` before the libs shared one.
 */
export const PoolConfigError = TetherInvalidOptionError;
/** @deprecated Use `TetherInvalidOptionError` from `@tether/errors`. */
export type PoolConfigError = TetherInvalidOptionError;

/**
 * The pool or client is draining (shutdown started): new work is refused at once instead of queueing
 * behind a pool that is about to close. Not retryable here; another replica can take the request.
 */
export class PoolDrainingError extends TetherError {
  declare readonly code: 'TETHER_POOL_DRAINING';
  readonly dependency: string;
  readonly safety = 'never';
  constructor(dependency: string) {
    super('TETHER_POOL_DRAINING', `${dependency}: pool is draining, new work is refused`, {
      retryable: false,
    });
    this.dependency = dependency;
  }
}

/**
 * The connection failed, or the call's deadline passed, while COMMIT was in flight: the transaction
 * may or may not have been applied. Never retried automatically (a retry could apply it twice); the
 * caller must check (e.g. look the row up by its id).
 */
export class CommitOutcomeUnknownError extends TetherError {
  declare readonly code: 'TETHER_PG_COMMIT_OUTCOME_UNKNOWN';
  readonly safety = 'never';
  constructor(cause: unknown) {
    super(
      'TETHER_PG_COMMIT_OUTCOME_UNKNOWN',
      'postgres: the connection failed or the deadline passed during COMMIT; ' +
        'the transaction may or may not be applied',
      { retryable: false, cause },
    );
  }
}

/**
 * `transaction()` did not commit: a statement failed inside it and the callback went on (it caught
 * the error), so Postgres would answer COMMIT with ROLLBACK — or did. Nothing of the transaction was
 * applied. `cause` is the statement error that aborted it (e.g. a 23505 the callback swallowed).
 */
export class TransactionRolledBackError extends TetherError {
  declare readonly code: 'TETHER_PG_TRANSACTION_ROLLED_BACK';
  readonly safety = 'never';
  constructor(cause: unknown) {
    super(
      'TETHER_PG_TRANSACTION_ROLLED_BACK',
      'postgres: a statement failed inside the transaction, so it was rolled back instead of committed',
      cause === undefined ? { retryable: false } : { retryable: false, cause },
    );
  }
}

/**
 * A feature that cannot work through PgBouncer in transaction pooling (a named prepared statement)
 * was used with `pgbouncer: true`. A usage error: fix the call.
 */
export class PgBouncerUnsupportedError extends TetherError {
  declare readonly code: 'TETHER_PG_PGBOUNCER_UNSUPPORTED';
  constructor(feature: string) {
    super(
      'TETHER_PG_PGBOUNCER_UNSUPPORTED',
      `postgres: ${feature} is not supported in PgBouncer transaction pooling mode`,
      { retryable: false },
    );
  }
}
