import { QUEUE_TASK } from '@tether/jobs';
import { createPgPool, createRedis, type TetherPgPool, type TetherRedis } from '@tether/pooling';
import { createLifecycle, type Lifecycle } from '@tether/shutdown';
import { createLogger } from '@tether/telemetry';
import { Logger, run } from 'graphile-worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoHandlers } from '../src/handlers.ts';
import { workerOptionsFromEnv } from '../src/options.ts';
import { startWorker } from '../src/worker.ts';
import { promiseOnlyPool, type Servers, startServers, waitFor } from './support.ts';

/** Far beyond the test's timeout: a job that starts was found through NOTIFY, not by a poll. */
const POLL_INTERVAL_MS = 600_000;
const APP = 'tether-worker-notify-test';

describe('the worker is woken by NOTIFY and gives its LISTEN connection back at shutdown', () => {
  let s: Servers;
  let db: TetherPgPool;
  let redis: TetherRedis;
  let lifecycle: Lifecycle;
  let worker: { stop: () => Promise<void> };

  /** Sessions of the worker's pool whose latest statement was graphile-worker's LISTEN. */
  const listening = async () => {
    const { rows } = await s.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_stat_activity
        WHERE application_name = $1 AND query LIKE 'LISTEN "jobs:insert"%'`,
      [APP],
    );
    return rows[0]?.n ?? 0;
  };
  const finished = (id: string) =>
    waitFor(
      async () => {
        const job = await s.job(id);
        return job.status === 'succeeded' && job;
      },
      30_000,
      `job ${id} to succeed`,
    );

  beforeAll(async () => {
    s = await startServers();
    const logger = createLogger({ level: 'warn' });
    db = createPgPool({ connectionString: s.server.url, applicationName: APP, max: 10, logger });
    redis = createRedis({ url: s.redisServer.url, logger });
    lifecycle = createLifecycle({ signals: [], exit: () => {}, drainDelayMs: 0 });
    worker = startWorker({
      databaseUrl: s.server.url,
      db,
      redis,
      lifecycle,
      logger,
      options: workerOptionsFromEnv({ WORKER_CONCURRENCY: '2' }),
      handlers: demoHandlers,
      pollIntervalMs: POLL_INTERVAL_MS,
    });
  });
  afterAll(async () => {
    await worker?.stop();
    await Promise.all([db?.drain(1_000), redis?.drain(1_000)]);
    await s?.close();
  });

  it('a job enqueued while the worker idles starts although the next poll is 10 minutes away', async () => {
    // The first job may be taken by the poll graphile-worker makes at start; the ones after it
    // arrive while every worker slot sleeps until the next poll (600 s), so only NOTIFY can wake it.
    for (let i = 0; i < 3; i++) {
      const job = await s.enqueue('demo.sleep', { ms: 0, steps: 1 });
      expect((await finished(job.id)).status).toBe('succeeded');
      await new Promise((r) => setTimeout(r, 200));
    }
    // The mechanism: one dedicated session of the pool LISTENs on graphile-worker's channel.
    expect(await listening()).toBe(1);
  }, 120_000);

  it('after stop(), no connection of the pool is still checked out and nothing LISTENs any more', async () => {
    await worker.stop();
    expect(db.pool.totalCount - db.pool.idleCount).toBe(0);
    expect(await listening()).toBe(0);
  }, 60_000);
});

describe('control: a pg.Pool face whose connect() only returns a promise (the adapter before the fix)', () => {
  let s: Servers;
  let db: TetherPgPool;
  afterAll(async () => {
    await db?.drain(1_000);
    await s?.close();
  });

  it('graphile-worker never LISTENs, so a job enqueued while it idles waits for the next poll', async () => {
    s = await startServers();
    db = createPgPool({ connectionString: s.server.url, applicationName: APP, max: 6 });
    const pool = db.pool;
    const started: string[] = [];
    const runner = await run({
      pgPool: promiseOnlyPool(pool),
      concurrency: 1,
      noHandleSignals: true,
      pollInterval: POLL_INTERVAL_MS,
      logger: new Logger(() => () => {}),
      taskList: { [QUEUE_TASK]: async (payload) => void started.push((payload as { jobId: string }).jobId) },
    });
    try {
      // The poll at start-up finds the first job; the second arrives while the worker sleeps.
      const first = await s.enqueue('demo.sleep', { ms: 0, steps: 1 });
      await waitFor(async () => started.includes(first.id), 30_000, 'the first job (start-up poll)');
      await new Promise((r) => setTimeout(r, 500));
      const second = await s.enqueue('demo.sleep', { ms: 0, steps: 1 });
      await new Promise((r) => setTimeout(r, 5_000));
      expect(started).toEqual([first.id]);
      const { rows } = await s.pool.query<{ attempts: number }>(
        'SELECT attempts FROM graphile_worker.jobs WHERE key = $1',
        [second.id],
      );
      expect(rows).toEqual([{ attempts: 0 }]);
    } finally {
      await runner.stop();
    }
  }, 90_000);
});
