// `@tether/pooling/redis`: the Redis half only (never loads pg).
export { PoolConfigError, PoolDrainingError } from './errors.ts';
export type { Logger } from './logger.ts';
export type { EvictionReason } from './pool-metrics.ts';
export {
  createRedis,
  RedisCommandAbandonedError,
  RedisConnectionLostError,
  RedisOfflineQueueFullError,
  TetherRedis,
  type RedisCallOptions,
} from './redis.ts';
export type { RedisEndpoint, RedisOptions, RedisProfile, RedisRetryOptions } from './redis-options.ts';
