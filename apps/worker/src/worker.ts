import { QUEUE_TASK } from '@tether/jobs';
import { pendingMigrations } from '@tether/migrations';
import type { TetherPgPool, TetherRedis } from '@tether/pooling';
import type { Lifecycle } from '@tether/shutdown';
import type { Logger as AppLogger } from '@tether/telemetry';
import { Logger, run, type Runner } from 'graphile-worker';
import type { JobHandler } from './handlers.ts';
import { LeaseKeeper } from './leases.ts';
import type { WorkerOptions } from './options.ts';
import { queuePool } from './queue-pool.ts';
import { RelayLoop } from './relay-loop.ts';
import { jobTask } from './run-job.ts';
import { sweep } from './sweeper.ts';

export interface WorkerDeps {
  databaseUrl: string;
  db: TetherPgPool;
  redis: TetherRedis;
  lifecycle: Lifecycle;
  logger: AppLogger;
  options: WorkerOptions;
  handlers: Record<string, JobHandler>;
  /**
   * How often graphile-worker looks for jobs without being told, ms. New jobs wake the worker at once
   * through LISTEN/NOTIFY (`jobs:insert`, sent by `add_job`); polling only covers a listener that is
   * reconnecting (or PgBouncer transaction mode, where LISTEN does not work). Default 1000.
   */
  pollIntervalMs?: number;
}

/**
 * Runs jobs until the lifecycle shuts down: graphile-worker on the @tether/pooling pool (signals are
 * the lifecycle's, `noHandleSignals`), leases + sweeper for dead-worker recovery, and the event relay.
 * Waits in the background until the schema is current (the migration Job may still be running).
 */
export function startWorker(deps: WorkerDeps): { stop: () => Promise<void> } {
  const { db, lifecycle, logger, options } = deps;
  const onError = (error: unknown, what: string) => logger.warn({ err: error }, `${what} failed`);
  const leases = new LeaseKeeper(db, { ...options, onError });
  const relay = new RelayLoop(
    db,
    deps.redis,
    { pollMs: options.relayPollMs, streamMaxLen: options.streamMaxLen },
    logger,
  );
  let runner: Runner | undefined;
  let sweeper: NodeJS.Timeout | undefined;

  const started = (async () => {
    await schemaCurrent(deps);
    if (lifecycle.signal.aborted) return;
    leases.start();
    relay.start();
    // graphile-worker warns unless the pool has a 'connect' listener to give each client an error
    // handler; @tether/pooling's clients carry theirs from construction, so nothing is left to add.
    if (db.pool.listenerCount('connect') === 0) db.pool.on('connect', () => {});
    runner = await run({
      pgPool: queuePool(db),
      concurrency: options.concurrency,
      noHandleSignals: true,
      pollInterval: deps.pollIntervalMs ?? 1_000,
      // Shutdown is the lifecycle's: running jobs hold beacons and are handed back at its deadline.
      gracefulShutdownAbortTimeout: 3_600_000,
      logger: graphileLogger(logger),
      // With batching off (-1, the default) graphile-worker completes and fails jobs without awaiting
      // them: a Postgres restart at that moment is an unhandled rejection that kills the process.
      // A batch of one (delay 0) retries any error with backoff (20 attempts, up to 30 s apart).
      preset: { worker: { completeJobBatchDelay: 0, failJobBatchDelay: 0 } },
      taskList: {
        [QUEUE_TASK]: jobTask({ db, handlers: deps.handlers, leases, lifecycle, options, logger }),
      },
    });
    // graphile-worker stops its pool for good when it cannot record a job's outcome (a connection
    // lost mid-statement). Exit through the graceful path: running jobs are handed back, and the
    // supervisor (Kubernetes, npm start) starts a fresh process.
    runner.promise.catch((error: unknown) => {
      logger.error({ err: error }, 'job queue stopped after a fatal error: restarting the process');
      void lifecycle.shutdown('job queue stopped');
    });
    if (options.sweepIntervalMs > 0) {
      const tick = () =>
        sweep(db, options.leaseTtlMs).then(
          (result) => {
            if (result.requeued.length > 0 || result.reissued.length > 0)
              logger.warn(
                result,
                'dead-worker recovery: requeued jobs whose lease expired or entry was gone',
              );
          },
          (error: unknown) => onError(error, 'sweep'),
        );
      // Jittered, so many workers do not sweep in lockstep.
      sweeper = setInterval(tick, options.sweepIntervalMs * (0.8 + Math.random() * 0.4));
    }
    logger.info({ concurrency: options.concurrency }, 'worker taking jobs');
  })();

  // Stop taking jobs the moment shutdown starts; running ones finish or are handed back (beacons).
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      clearInterval(sweeper);
      await started.catch(() => {});
      await runner?.stop();
      leases.stop();
      await relay.stop();
    })());
  lifecycle.signal.addEventListener('abort', () => void stop(), { once: true });
  lifecycle.addShutdownHook('queue', () => stop(), { timeoutMs: 3_000 });
  started.catch((error: unknown) => {
    logger.error({ err: error }, 'worker failed to start taking jobs');
    void lifecycle.shutdown('worker failed to start');
  });
  return { stop };
}

async function schemaCurrent(deps: WorkerDeps): Promise<void> {
  let told = false;
  while (!deps.lifecycle.signal.aborted) {
    try {
      const pending = await pendingMigrations(deps.databaseUrl);
      if (pending.length === 0) return;
      if (!told) deps.logger.warn({ pending }, 'waiting for migrations (tether-migrate) before taking jobs');
    } catch (error) {
      if (!told) deps.logger.warn({ err: error }, 'cannot check migrations yet; retrying');
    }
    told = true;
    await new Promise((r) => setTimeout(r, 1_000));
  }
}

function graphileLogger(logger: AppLogger): Logger {
  return new Logger(() => (level, message, meta) => {
    if (level === 'error') logger.error({ meta }, `graphile-worker: ${message}`);
    else if (level === 'warning') logger.warn({ meta }, `graphile-worker: ${message}`);
    else if (level === 'info') logger.info({}, `graphile-worker: ${message}`);
  });
}
