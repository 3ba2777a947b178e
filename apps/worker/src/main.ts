/**
 * apps/worker entry point: validated configuration, telemetry, the @tether/pooling Postgres pool and
 * Redis client, the job runner (graphile-worker, leases, sweeper, event relay), admin probes, and
 * shutdown through @tether/shutdown (stop taking jobs, finish or hand back running ones, drain).
 */
import { loadRuntimeConfig, pgPoolSettings, redisSettings } from '@tether/config';
import { createPgPool, createRedis } from '@tether/pooling';
import { createLifecycle, lifecycleOptionsFromEnv } from '@tether/shutdown';
import { createLogger, startTelemetry } from '@tether/telemetry';
import { demoHandlers, type JobHandler } from './handlers.ts';
import { workerOptionsFromEnv } from './options.ts';
import { startWorker } from './worker.ts';

/** Starts the worker process with these job handlers (the demo types, plus any a fork adds). */
export async function main(handlers: Record<string, JobHandler> = demoHandlers): Promise<void> {
  const config = loadRuntimeConfig(process.env);
  const options = workerOptionsFromEnv(process.env);
  const lifecycle = createLifecycle(lifecycleOptionsFromEnv());
  const telemetry = startTelemetry({ serviceName: 'tether-worker', lifecycle });
  lifecycle.setMetricsHandler(telemetry.metricsHandler);
  const logger = createLogger({ level: config.LOG_LEVEL });

  const db = createPgPool({
    connectionString: config.DATABASE_URL,
    applicationName: 'tether-worker',
    // graphile-worker's connections (fetching jobs, LISTEN) + one per running job + lease/relay work.
    ...pgPoolSettings(config),
    // PG_POOL_MAX may raise this, never lower it: a smaller pool would starve graphile-worker.
    max: Math.max(options.concurrency + 6, pgPoolSettings(config).max ?? 0),
    logger,
  });
  const redis = createRedis({ url: config.REDIS_URL, ...redisSettings(config), logger });
  // Registered first, so they run last: nothing may use the pools after they drain.
  lifecycle.addShutdownHook('postgres', () => db.drain(1_000), { timeoutMs: 1_500 });
  lifecycle.addShutdownHook('redis', () => redis.drain(1_000), { timeoutMs: 1_500 });
  lifecycle.addReadinessCheck('postgres', (signal) => db.ping({ signal }));
  lifecycle.addReadinessCheck('redis', (signal) => redis.ping({ signal }));

  startWorker({ databaseUrl: config.DATABASE_URL, db, redis, lifecycle, logger, options, handlers });
  await lifecycle.listenAdmin();
  lifecycle.startupComplete();
  logger.info({}, 'worker started');
}

if (import.meta.main) await main();
