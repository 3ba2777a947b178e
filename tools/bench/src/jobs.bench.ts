/**
 * The jobs path against its baselines, same run, same Postgres:
 *
 * - `POST /v1/jobs` and `GET /v1/jobs/:id`: the real API process (JWT auth, zod validation,
 *   idempotency support, @tether/pooling, telemetry) vs Express 5 + a raw pg.Pool running the same
 *   SQL (@tether/jobs' enqueueJob in a transaction, getJob) with none of that. Saturation
 *   throughput (closed loop) and latency at a fixed arrival rate (open loop: latency from the
 *   scheduled start, so queueing is counted). Goal: >= 0.9x throughput.
 * - Enqueue-to-start (p50/p99, goal p50 <= 10 ms) and jobs/s: the real worker (leases, fencing,
 *   per-job events, progress, relay) running `demo.sleep {ms: 0}` vs bare graphile-worker running a
 *   no-op task, same concurrency. Reported as metric rows too (p50 with its absolute goal).
 * - An A/A row per family (raw vs raw, bare graphile-worker vs itself): the noise floor of the run.
 *
 * Run: `npm run bench -- jobs` (`BENCH_SCALE=quick`: every row at tiny sizes, numbers meaningless).
 */
import { type ChildProcess, fork, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { EphemeralPostgres, EphemeralRedis, freePort, startApp } from '@tether/devstack';
import { enqueueJob } from '@tether/jobs';
import { migrate } from '@tether/migrations';
import { SignJWT } from 'jose';
import pg from 'pg';
import {
  emptyTally as empty,
  fixedRate as fixedRateOf,
  measurement as measure,
  type Op,
  saturate as saturateWith,
  type Tally,
} from './load.ts';
import {
  benchScale,
  type Comparison,
  type Measurement,
  type MetricComparison,
  percentile,
  writeReport,
} from './report.ts';

const saturate = (op: Op, durationMs: number, tally: Tally) => saturateWith(op, CALLERS, durationMs, tally);
const fixedRate = (op: Op, durationMs: number, tally: Tally) => fixedRateOf(op, RATE, durationMs, tally);

// BENCH_SCALE=quick (the test that runs every benchmark inside `npm test`): every row, tiny sizes.
const quick = benchScale() === 'quick';
const ROUNDS = quick ? 1 : 4;
const ROUND_MS = quick ? 150 : 1_500;
const WARMUP_MS = quick ? 100 : 500;
const CALLERS = quick ? 4 : 16;
const RATE = quick ? 50 : 150;
const CONCURRENCY = 4;
const ENQUEUE_RATE = 20;
const ENQUEUE_MS = quick ? 300 : 4_000;
const BURST_JOBS = quick ? 20 : 600;
/** Enqueue-to-start p50 goal (issue #11), ms, on the candidate's absolute value. */
const START_P50_GOAL_MS = 10;
const SECRET = 'a-benchmark-secret-of-at-least-32-chars';
const fixtures = new URL('./fixtures/', import.meta.url).pathname;

/** Baseline and candidate alternate in rounds so drift on a shared machine hits both alike. */
async function compare(
  scenario: string,
  baseline: Op,
  candidate: Op,
  run: typeof saturate,
  goals: Partial<Comparison>,
): Promise<Comparison> {
  const b = empty();
  const c = empty();
  await run(baseline, WARMUP_MS, empty());
  await run(candidate, WARMUP_MS, empty());
  for (let round = 0; round < ROUNDS; round++) {
    await run(baseline, ROUND_MS, b);
    await run(candidate, ROUND_MS, c);
  }
  return { scenario, baseline: measure(b), candidate: measure(c), ...goals };
}

async function startRawApi(databaseUrl: string): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--conditions=@tether/source', `${fixtures}raw-jobs-api.ts`], {
    env: { ...process.env, DATABASE_URL: databaseUrl, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await once(createInterface({ input: child.stdout! }), 'line');
  return { url: `http://127.0.0.1:${port}`, child };
}

async function httpOps(base: string, authorization?: string) {
  const headers = { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) };
  const body = JSON.stringify({ type: 'demo.sleep', payload: { ms: 0, steps: 1 } });
  const post = async () => {
    const response = await fetch(`${base}/v1/jobs`, { method: 'POST', headers, body });
    await response.arrayBuffer();
    if (response.status !== 202) throw new Error(`POST ${response.status}`);
  };
  const first = await fetch(`${base}/v1/jobs`, { method: 'POST', headers, body });
  const { id } = (await first.json()) as { id: string };
  const get = async () => {
    const response = await fetch(`${base}/v1/jobs/${id}`, { headers });
    await response.arrayBuffer();
    if (response.status !== 200) throw new Error(`GET ${response.status}`);
  };
  return { post, get };
}

/** Enqueue at a fixed rate, then wait until every job started; returns the start latencies. */
async function enqueueToStart(enqueue: () => Promise<void>, started: () => Promise<number[]>, total: number) {
  const startedAt = performance.now();
  for (let i = 0; i < total; i++) {
    const wait = startedAt + (i * 1000) / ENQUEUE_RATE - performance.now();
    if (wait > 0) await sleep(wait);
    await enqueue();
  }
  for (;;) {
    const latencies = await started();
    if (latencies.length >= total) return latencies;
    await sleep(50);
  }
}

/**
 * Jobs/s of a worker: `BURST_JOBS` jobs enqueued in one transaction, timed until `done()` says the
 * worker got through all of them.
 */
async function burstRate(
  db: pg.Pool,
  enqueue: (client: pg.PoolClient) => Promise<unknown>,
  done: () => Promise<boolean>,
): Promise<number> {
  const startedAt = performance.now();
  const client = await db.connect();
  try {
    await client.query('BEGIN');
    for (let i = 0; i < BURST_JOBS; i++) await enqueue(client);
    await client.query('COMMIT');
  } finally {
    client.release();
  }
  while (!(await done())) await sleep(50);
  return (BURST_JOBS / (performance.now() - startedAt)) * 1000;
}

/**
 * Until a worker's session LISTENs for new jobs: readiness comes before the queue runner has started,
 * and a job enqueued earlier would wait for the runner's first poll, which is not what is measured.
 */
async function untilListening(db: pg.Pool): Promise<void> {
  for (;;) {
    const { rows } = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_stat_activity WHERE query LIKE 'LISTEN "jobs:insert"%'`,
    );
    if ((rows[0]?.n ?? 0) > 0) return;
    await sleep(50);
  }
}

async function main(): Promise<void> {
  const [postgres, redis] = await Promise.all([EphemeralPostgres.start(), EphemeralRedis.start()]);
  await migrate({ databaseUrl: postgres.url });
  const db = new pg.Pool({ connectionString: postgres.url, max: 4 });
  const children: ChildProcess[] = [];
  const comparisons: Comparison[] = [];
  try {
    // HTTP: the real API process vs the raw route.
    const env = {
      DATABASE_URL: postgres.url,
      REDIS_URL: redis.url,
      AUTH_JWT_SECRET: SECRET,
      LOG_LEVEL: 'warn',
    };
    const api = await startApp(new URL('../../../apps/api/src/main.ts', import.meta.url).pathname, env);
    await api.ready('/readyz', 60_000);
    const raw = await startRawApi(postgres.url);
    children.push(raw.child, api.child);
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('bench')
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode(SECRET));
    const tether = await httpOps(`http://127.0.0.1:${api.port}`, `Bearer ${token}`);
    const plain = await httpOps(raw.url);
    // A/A: the baseline against itself shows how much of any difference is this machine's noise.
    comparisons.push(
      await compare(
        'A/A noise floor: POST /v1/jobs raw vs raw, saturation',
        plain.post,
        plain.post,
        saturate,
        {},
      ),
    );
    comparisons.push(
      await compare('POST /v1/jobs, saturation', plain.post, tether.post, saturate, { throughputGoal: 0.9 }),
    );
    comparisons.push(await compare(`POST /v1/jobs, ${RATE}/s`, plain.post, tether.post, fixedRate, {}));
    comparisons.push(
      await compare(
        'A/A noise floor: GET /v1/jobs/:id raw vs raw, saturation',
        plain.get,
        plain.get,
        saturate,
        {},
      ),
    );
    comparisons.push(
      await compare('GET /v1/jobs/:id, saturation', plain.get, tether.get, saturate, { throughputGoal: 0.9 }),
    );
    comparisons.push(await compare(`GET /v1/jobs/:id, ${RATE}/s`, plain.get, tether.get, fixedRate, {}));
    await api.stop('SIGTERM');

    // Workers: one at a time against an empty queue.
    // The HTTP benchmark left thousands of queued jobs: start the worker benchmarks from an empty queue.
    await db.query('DELETE FROM tether_jobs');
    await db.query('DELETE FROM graphile_worker._private_jobs');
    const worker = await startApp(new URL('../../../apps/worker/src/main.ts', import.meta.url).pathname, {
      ...env,
      WORKER_CONCURRENCY: String(CONCURRENCY),
    });
    await worker.ready('/readyz', 60_000);
    await untilListening(db);
    const enqueueTether = async () => {
      const client = await db.connect();
      try {
        await client.query('BEGIN');
        await enqueueJob(client, { owner: 'bench', type: 'demo.sleep', payload: { ms: 0, steps: 1 } });
        await client.query('COMMIT');
      } finally {
        client.release();
      }
    };
    const tetherStarts = async () =>
      (
        await db.query<{ ms: number }>(
          `SELECT extract(epoch FROM (r.created_at - q.created_at)) * 1000 AS ms
             FROM tether_job_events q JOIN tether_job_events r ON r.job_id = q.job_id AND r.type = 'running' AND r.seq = 2
            WHERE q.type = 'queued'`,
        )
      ).rows.map((r) => Number(r.ms));
    const total = (ENQUEUE_RATE * ENQUEUE_MS) / 1000;
    const tetherLatencies = await enqueueToStart(enqueueTether, tetherStarts, total);
    const tetherRate = await burstRate(
      db,
      (client) => enqueueJob(client, { owner: 'bench', type: 'demo.sleep', payload: { ms: 0, steps: 1 } }),
      async () => {
        const { rows } = await db.query<{ n: string }>(
          `SELECT count(*) AS n FROM tether_jobs WHERE status = 'succeeded'`,
        );
        return Number(rows[0]?.n) >= total + BURST_JOBS;
      },
    );
    await worker.stop('SIGTERM');

    const gwStarts: number[] = [];
    const bare = fork(`${fixtures}bare-graphile-worker.ts`, {
      execArgv: ['--conditions=@tether/source'],
      env: { ...process.env, DATABASE_URL: postgres.url, CONCURRENCY: String(CONCURRENCY) },
    });
    children.push(bare);
    bare.on('message', (m: { startedAfterMs?: number }) => {
      if (m.startedAfterMs !== undefined) gwStarts.push(m.startedAfterMs);
    });
    await once(bare, 'message');
    await untilListening(db);
    const addJob = (client: pg.PoolClient) =>
      client.query(`SELECT graphile_worker.add_job('bench.noop', '{}'::json)`);
    // Twice: the second pass is the bare worker's A/A row.
    const barePasses: { latencies: number[]; rate: number }[] = [];
    for (let pass = 0; pass < 2; pass++) {
      const from = gwStarts.length;
      const latencies = await enqueueToStart(
        async () => void (await db.query(`SELECT graphile_worker.add_job('bench.noop', '{}'::json)`)),
        async () => gwStarts.slice(from),
        total,
      );
      const rate = await burstRate(db, addJob, async () => gwStarts.length >= from + total + BURST_JOBS);
      barePasses.push({ latencies, rate });
    }
    bare.kill('SIGTERM');
    const [bareA, bareB] = barePasses as [(typeof barePasses)[0], (typeof barePasses)[0]];

    const asMeasurement = (latencies: number[], rate: number): Measurement => ({
      throughput: rate,
      p50Ms: percentile(latencies, 50),
      p99Ms: percentile(latencies, 99),
      errors: 0,
    });
    const workerScenario = `${BURST_JOBS} jobs (jobs/s) and enqueue-to-start at ${ENQUEUE_RATE}/s (p50/p99 ms)`;
    comparisons.push({
      scenario: `A/A noise floor: worker, bare graphile-worker vs itself: ${workerScenario}`,
      baseline: asMeasurement(bareA.latencies, bareA.rate),
      candidate: asMeasurement(bareB.latencies, bareB.rate),
    });
    comparisons.push({
      scenario: `worker: ${workerScenario}`,
      baseline: asMeasurement(bareB.latencies, bareB.rate),
      candidate: asMeasurement(tetherLatencies, tetherRate),
    });
    const p50 = percentile(tetherLatencies, 50);
    const metrics: MetricComparison[] = [
      {
        scenario: `worker enqueue-to-start at ${ENQUEUE_RATE}/s`,
        metric: 'p50',
        unit: 'ms',
        baseline: percentile(bareB.latencies, 50),
        candidate: p50,
        better: 'lower',
        absoluteGoal: START_P50_GOAL_MS,
        samples: { baseline: bareB.latencies, candidate: tetherLatencies },
      },
      {
        scenario: `worker enqueue-to-start at ${ENQUEUE_RATE}/s`,
        metric: 'p99',
        unit: 'ms',
        baseline: percentile(bareB.latencies, 99),
        candidate: percentile(tetherLatencies, 99),
        better: 'lower',
      },
      {
        scenario: `worker throughput, ${BURST_JOBS} jobs enqueued at once`,
        metric: 'jobs/s',
        unit: 'jobs/s',
        baseline: bareB.rate,
        candidate: tetherRate,
        better: 'higher',
      },
    ];
    console.log(
      `enqueue-to-start p50 ${p50.toFixed(1)} ms (goal <= ${START_P50_GOAL_MS} ms): ${p50 <= START_P50_GOAL_MS ? 'ok' : 'MISSED'}`,
    );
    writeReport({
      name: 'jobs',
      baselineLabel: 'raw / bare graphile-worker',
      candidateLabel: 'tether',
      comparisons,
      metrics,
      environment: {
        scale: benchScale(),
        callers: CALLERS,
        rate: RATE,
        workerConcurrency: CONCURRENCY,
        enqueueToStartP50Ms: p50,
      },
    });
  } finally {
    for (const child of children) child.kill('SIGKILL');
    await db.end();
    await Promise.all([postgres.close(), redis.close()]);
  }
}

await main();
