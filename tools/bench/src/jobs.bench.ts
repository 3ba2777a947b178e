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
 *   no-op task, same concurrency.
 *
 * Run: `npm run bench -- jobs`.
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
import { type Comparison, type Measurement, percentile, writeReport } from './report.ts';

const saturate = (op: Op, durationMs: number, tally: Tally) => saturateWith(op, CALLERS, durationMs, tally);
const fixedRate = (op: Op, durationMs: number, tally: Tally) => fixedRateOf(op, RATE, durationMs, tally);

const ROUNDS = 4;
const ROUND_MS = 1_500;
const CALLERS = 16;
const RATE = 150;
const CONCURRENCY = 4;
const ENQUEUE_RATE = 20;
const ENQUEUE_MS = 4_000;
const BURST_JOBS = 600;
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
  await run(baseline, 500, empty());
  await run(candidate, 500, empty());
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
    comparisons.push(
      await compare('POST /v1/jobs, saturation', plain.post, tether.post, saturate, { throughputGoal: 0.9 }),
    );
    comparisons.push(await compare(`POST /v1/jobs, ${RATE}/s`, plain.post, tether.post, fixedRate, {}));
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
    const burstStart = performance.now();
    const burst = await db.connect();
    await burst.query('BEGIN');
    for (let i = 0; i < BURST_JOBS; i++) {
      await enqueueJob(burst, { owner: 'bench', type: 'demo.sleep', payload: { ms: 0, steps: 1 } });
    }
    await burst.query('COMMIT');
    burst.release();
    for (;;) {
      const { rows } = await db.query<{ n: string }>(
        `SELECT count(*) AS n FROM tether_jobs WHERE status = 'succeeded'`,
      );
      if (Number(rows[0]?.n) >= total + BURST_JOBS) break;
      await sleep(50);
    }
    const tetherRate = (BURST_JOBS / (performance.now() - burstStart)) * 1000;
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
    const addJob = (client: pg.Pool | pg.PoolClient) =>
      client.query(`SELECT graphile_worker.add_job('bench.noop', '{}'::json)`);
    const gwLatencies = await enqueueToStart(
      async () => void (await addJob(db)),
      async () => gwStarts,
      total,
    );
    const gwBurstStart = performance.now();
    const gwBurst = await db.connect();
    await gwBurst.query('BEGIN');
    for (let i = 0; i < BURST_JOBS; i++) await addJob(gwBurst);
    await gwBurst.query('COMMIT');
    gwBurst.release();
    while (gwStarts.length < total + BURST_JOBS) await sleep(50);
    const gwRate = (BURST_JOBS / (performance.now() - gwBurstStart)) * 1000;
    bare.kill('SIGTERM');

    const asMeasurement = (latencies: number[], rate: number): Measurement => ({
      throughput: rate,
      p50Ms: percentile(latencies, 50),
      p99Ms: percentile(latencies, 99),
      errors: 0,
    });
    comparisons.push({
      scenario: `worker: ${BURST_JOBS} jobs (jobs/s) and enqueue-to-start at ${ENQUEUE_RATE}/s (p50/p99 ms)`,
      baseline: asMeasurement(gwLatencies, gwRate),
      candidate: asMeasurement(tetherLatencies, tetherRate),
    });
    const p50 = percentile(tetherLatencies, 50);
    console.log(`enqueue-to-start p50 ${p50.toFixed(1)} ms (goal <= 10 ms): ${p50 <= 10 ? 'ok' : 'MISSED'}`);
    writeReport({
      name: 'jobs',
      baselineLabel: 'raw / bare graphile-worker',
      candidateLabel: 'tether',
      comparisons,
      environment: { callers: CALLERS, rate: RATE, workerConcurrency: CONCURRENCY, enqueueToStartP50Ms: p50 },
    });
  } finally {
    for (const child of children) child.kill('SIGKILL');
    await db.end();
    await Promise.all([postgres.close(), redis.close()]);
  }
}

await main();
