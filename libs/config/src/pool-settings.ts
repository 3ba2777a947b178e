import type { RuntimeConfig } from './runtime-config.ts';

/**
 * The subset of @tether/pooling's `PgPoolOptions` the environment sets. Declared here rather than
 * imported so that @tether/config stays free of the pooling lib (and its pg dependency); the apps
 * spread it into `createPgPool`, which type-checks the shape.
 */
export interface PgPoolSettings {
  max?: number;
  keepAliveInitialDelayMs?: number;
  idleTimeoutMs?: number;
  maxLifetimeMs?: number;
  maxLifetimeJitterMs?: number;
  statementTimeoutMs?: number;
}

/** The subset of @tether/pooling's `RedisOptions` the environment sets. */
export interface RedisSettings {
  keepAliveMs?: number;
}

/** Only the keys whose variable is set: an unset variable leaves the pooling lib's default (or the app's) in force. */
function defined<T extends object>(entries: { [K in keyof T]: T[K] | undefined }): T {
  return Object.fromEntries(Object.entries(entries).filter(([, value]) => value !== undefined)) as T;
}

/** PG_POOL_MAX, PG_KEEPALIVE_MS, PG_IDLE_TIMEOUT_MS, PG_MAX_LIFETIME(_JITTER)_MS, PG_STATEMENT_TIMEOUT_MS as `createPgPool` options. */
export function pgPoolSettings(config: RuntimeConfig): PgPoolSettings {
  return defined<PgPoolSettings>({
    max: config.PG_POOL_MAX,
    keepAliveInitialDelayMs: config.PG_KEEPALIVE_MS,
    idleTimeoutMs: config.PG_IDLE_TIMEOUT_MS,
    maxLifetimeMs: config.PG_MAX_LIFETIME_MS,
    maxLifetimeJitterMs: config.PG_MAX_LIFETIME_JITTER_MS,
    statementTimeoutMs: config.PG_STATEMENT_TIMEOUT_MS,
  });
}

/** REDIS_KEEPALIVE_MS as `createRedis` options. */
export function redisSettings(config: RuntimeConfig): RedisSettings {
  return defined<RedisSettings>({ keepAliveMs: config.REDIS_KEEPALIVE_MS });
}
