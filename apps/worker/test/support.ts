import { type AppProcess, EphemeralPostgres, EphemeralRedis, startApp } from '@tether/devstack';
import { enqueueJob, readEvents, type Job, type JobEvent, getJob, JOB_EVENTS_STREAM } from '@tether/jobs';
import { migrate } from '@tether/migrations';
import { type ChildProcess, spawn } from 'node:child_process';
import { Redis } from 'ioredis';
import pg from 'pg';

export const workerEntry = new URL('../src/main.ts', import.meta.url).pathname;
export const recordingWorkerEntry = new URL('./fixtures/recording-worker.ts', import.meta.url).pathname;
export const OWNER = 'test-user';

/** Real Postgres (migrated) and Redis, a pg pool for the test's own reads and writes. */
export async function startServers(redisSettings: Record<string, string | number> = {}) {
  const [server, redisServer] = await Promise.all([
    EphemeralPostgres.start(),
    EphemeralRedis.start({ settings: redisSettings }),
  ]);
  await migrate({ databaseUrl: server.url });
  const pool = new pg.Pool({ connectionString: server.url, max: 10 });
  pool.on('error', () => {});
  await pool.query(`CREATE TABLE test_runs (
    run_id uuid PRIMARY KEY DEFAULT gen_random_uuid(), job_id uuid NOT NULL, pid integer NOT NULL,
    kind text NOT NULL CHECK (kind IN ('started', 'completed')), at timestamptz NOT NULL DEFAULT now())`);
  const redis = new Redis(redisServer.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  redis.on('error', () => {});
  const workers: AppProcess[] = [];
  return {
    server,
    redisServer,
    pool,
    redis,
    /** A worker process (the real entry, or the recording fixture) on these servers. */
    async worker(env: Record<string, string> = {}, entry = recordingWorkerEntry): Promise<AppProcess> {
      const app = await startApp(entry, {
        DATABASE_URL: server.url,
        REDIS_URL: redisServer.url,
        LOG_LEVEL: 'info',
        SHUTDOWN_TIMEOUT_MS: '10000',
        ...env,
      });
      workers.push(app);
      // Generous: eight engineers' tests share two cores.
      await app.ready('/readyz', 60_000);
      return app;
    },
    async enqueue(type: string, payload: Record<string, unknown>): Promise<Job> {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const { job } = await enqueueJob(client, { owner: OWNER, type, payload });
        await client.query('COMMIT');
        return job;
      } finally {
        client.release();
      }
    },
    job: (id: string) => getJob(pool, id) as Promise<Job>,
    events: (id: string): Promise<JobEvent[]> => readEvents(pool, id, 0),
    async runs(id: string): Promise<{ pid: number; kind: string }[]> {
      const { rows } = await pool.query<{ pid: number; kind: string }>(
        'SELECT pid, kind FROM test_runs WHERE job_id = $1 ORDER BY at',
        [id],
      );
      return rows;
    },
    /** The stream entries of one job, in stream order. */
    async streamed(id: string): Promise<{ seq: number; type: string }[]> {
      const entries = (await redis.xrange(JOB_EVENTS_STREAM, '-', '+')) as [string, string[]][];
      return entries
        .map(([, fields]) => Object.fromEntries(fieldPairs(fields)))
        .filter((f) => f.jobId === id)
        .map((f) => ({ seq: Number(f.seq), type: f.type as string }));
    },
    async close() {
      await Promise.all(workers.map((w) => w.stop('SIGKILL').catch(() => {})));
      redis.disconnect();
      await pool.end();
      await Promise.all([server.close(), redisServer.close()]);
    },
  };
}

function fieldPairs(fields: string[]): [string, string][] {
  const pairs: [string, string][] = [];
  for (let i = 0; i + 1 < fields.length; i += 2) pairs.push([fields[i] as string, fields[i + 1] as string]);
  return pairs;
}

export type Servers = Awaited<ReturnType<typeof startServers>>;

export async function waitFor<T>(
  probe: () => Promise<T | undefined | false>,
  timeoutMs: number,
  what: string,
  everyMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Seq numbers 1..n in order, no gap, no repeat. */
export function expectGapFree(seqs: number[]): boolean {
  return seqs.every((seq, i) => seq === i + 1);
}

const bareWorkerEntry = new URL('./fixtures/bare-graphile.ts', import.meta.url).pathname;

/**
 * Bare graphile-worker processes (the controls' naive worker) against `servers().server`; `killAll`
 * SIGKILLs every one started. `servers` is a getter because the servers start in a beforeAll.
 */
export function bareWorkers(servers: () => Servers): { start(): ChildProcess; killAll(): void } {
  const children: ChildProcess[] = [];
  return {
    start() {
      const child = spawn(process.execPath, ['--conditions=@tether/source', bareWorkerEntry], {
        env: { ...process.env, DATABASE_URL: servers().server.url },
        stdio: 'ignore',
      });
      children.push(child);
      return child;
    },
    killAll() {
      for (const child of children) child.kill('SIGKILL');
    },
  };
}

/**
 * A pg.Pool face over `pool` for graphile-worker in the controls, whose connect() only returns a
 * promise (no callback form, so graphile-worker never gets its LISTEN client) and runs `connect`.
 */
export function promiseOnlyPool(pool: pg.Pool, connect = () => pool.connect()): pg.Pool {
  if (pool.listenerCount('connect') === 0) pool.on('connect', () => {});
  return {
    connect,
    query: pool.query.bind(pool),
    on: (event: 'error', listener: (error: Error) => void) => pool.on(event, listener),
    removeListener: (event: 'error', listener: (error: Error) => void) =>
      pool.removeListener(event, listener),
    listeners: (event: 'error') => pool.listeners(event),
    end: () => Promise.resolve(),
  } as unknown as pg.Pool;
}
