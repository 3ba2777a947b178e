// `@tether/pooling/pg`: the Postgres half only. Importing it never loads ioredis, so a Postgres-only
// service installs (and bundles) no Redis client.
export {
  CommitOutcomeUnknownError,
  PgBouncerUnsupportedError,
  PoolConfigError,
  PoolDrainingError,
  TransactionRolledBackError,
} from './errors.ts';
export type { Logger } from './logger.ts';
export type { PgPoolOptions, PgRetryOptions } from './pg-options.ts';
export {
  createPgPool,
  TetherPgPool,
  type PgCallOptions,
  type PgEvictionEvent,
  type PgQueryClient,
  type PgTransactionOptions,
} from './pg-pool.ts';
export { isReadOnlyStatement } from './pg-statements.ts';
export type { SslMode } from './pg-tls.ts';
export type { EvictionReason } from './pool-metrics.ts';
