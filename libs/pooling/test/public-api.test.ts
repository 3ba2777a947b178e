import { TetherError, TetherInvalidOptionError } from '@tether/errors';
import { describe, expect, expectTypeOf, it } from 'vitest';
import type {
  CommitOutcomeUnknownError,
  PgBouncerUnsupportedError,
  RedisCommandAbandonedError,
  RedisConnectionLostError,
  RedisOfflineQueueFullError,
  TetherPgPool,
  TetherRedis,
  TransactionRolledBackError,
} from '../src/index.ts';
import {
  createPgPool,
  createRedis,
  type PgPoolOptions,
  PoolConfigError,
  PoolDrainingError,
  type RedisOptions,
} from '../src/index.ts';

describe('@tether/pooling public surface', () => {
  it('pins the code literals and the factories', () => {
    expectTypeOf<PoolDrainingError['code']>().toEqualTypeOf<'TETHER_POOL_DRAINING'>();
    expectTypeOf<CommitOutcomeUnknownError['code']>().toEqualTypeOf<'TETHER_PG_COMMIT_OUTCOME_UNKNOWN'>();
    expectTypeOf<TransactionRolledBackError['code']>().toEqualTypeOf<'TETHER_PG_TRANSACTION_ROLLED_BACK'>();
    expectTypeOf<PgBouncerUnsupportedError['code']>().toEqualTypeOf<'TETHER_PG_PGBOUNCER_UNSUPPORTED'>();
    expectTypeOf<RedisConnectionLostError['code']>().toEqualTypeOf<'TETHER_REDIS_CONNECTION_LOST'>();
    expectTypeOf<RedisOfflineQueueFullError['code']>().toEqualTypeOf<'TETHER_REDIS_OFFLINE_QUEUE_FULL'>();
    expectTypeOf<RedisCommandAbandonedError['code']>().toEqualTypeOf<'TETHER_REDIS_COMMAND_ABANDONED'>();
    expectTypeOf<PoolConfigError>().toEqualTypeOf<TetherInvalidOptionError>();
    expectTypeOf(createPgPool).parameters.toEqualTypeOf<[options: PgPoolOptions]>();
    expectTypeOf(createPgPool).returns.toEqualTypeOf<TetherPgPool>();
    expectTypeOf(createRedis).parameters.toEqualTypeOf<[options?: RedisOptions]>();
    expectTypeOf(createRedis).returns.toEqualTypeOf<TetherRedis>();

    expect(new PoolDrainingError('postgres')).toBeInstanceOf(TetherError);
    expect(PoolConfigError).toBe(TetherInvalidOptionError);
  });
});
