/**
 * The logger tax: `createLogger` from @tether/telemetry (pino + trace fields + redaction by key and
 * by pattern, @tether/redact's rule) against plain pino with the same options, writing to the same
 * kind of destination (/dev/null through pino's own SonicBoom), in one process and one run. Arms
 * alternate in rounds, each round starting with the arm that went second before, so drift hits
 * both.
 *
 *   npm run bench -- logger
 *
 * Two log shapes: a typical request line (a few scalar fields, no secret), and a line carrying a
 * nested configuration object with secrets (the worst case: every key is judged, strings scanned).
 */
import { pino } from 'pino';
import { benchScale, type Measurement, percentile, writeReport } from './report.ts';

const quick = benchScale() === 'quick';
const ROUNDS = quick ? 2 : 6;
const ROUND_MS = quick ? 100 : 1000;
const WARMUP_MS = quick ? 100 : 1000;
// Latency is measured per batch of calls (one call is below the timer's useful resolution).
const BATCH = 100;

type Log = (logger: pino.Logger, i: number) => void;

const shapes: { scenario: string; log: Log }[] = [
  {
    scenario: 'request line (5 fields, no secret)',
    log: (logger, i) =>
      logger.info(
        { route: '/v1/jobs/:id', method: 'GET', status: 200, durationMs: 3.2, jobId: `job-${i}` },
        'request finished',
      ),
  },
  {
    scenario: 'config object with secrets (nested, DSN string)',
    log: (logger, i) =>
      logger.info(
        {
          attempt: i,
          config: {
            databaseUrl: 'postgres://tether:pg-pass-123@db:5432/tether',
            redis: { host: 'cache', port: 6379, password: 'redis-pass' },
            auth: { AUTH_JWT_SECRET: 'jwt-secret-xyz', issuer: 'tether' },
            usage: { max_tokens: 4096, passed: 3 },
          },
        },
        'config loaded',
      ),
  },
];

/** Logs for `durationMs`; returns lines/s and the per-call time of each batch, in ms. */
function run(logger: pino.Logger, log: Log, durationMs: number): { throughput: number; callMs: number[] } {
  const callMs: number[] = [];
  let lines = 0;
  const started = process.hrtime.bigint();
  const until = started + BigInt(durationMs) * 1_000_000n;
  for (let now = started; now < until;) {
    for (let i = 0; i < BATCH; i++) log(logger, lines + i);
    lines += BATCH;
    const after = process.hrtime.bigint();
    callMs.push(Number(after - now) / 1e6 / BATCH);
    now = after;
  }
  return { throughput: lines / (Number(process.hrtime.bigint() - started) / 1e9), callMs };
}

async function main(): Promise<void> {
  // Imported the way telemetry.bench.ts does (dynamically): Nx wants one style per library.
  const { createLogger } = await import('@tether/telemetry');
  const options = { level: 'info', name: 'bench', base: { pid: process.pid, hostname: 'bench' } };
  const destination = () => pino.destination({ dest: '/dev/null', sync: true });
  const arms = {
    baseline: pino(options, destination()),
    candidate: createLogger({ ...options, destination: destination() }),
  };
  const comparisons = shapes.map(({ scenario, log }) => {
    const totals = {
      baseline: { throughput: [] as number[], callMs: [] as number[] },
      candidate: { throughput: [] as number[], callMs: [] as number[] },
    };
    run(arms.baseline, log, WARMUP_MS);
    run(arms.candidate, log, WARMUP_MS);
    for (let round = 0; round < ROUNDS; round++) {
      const order =
        round % 2 === 0 ? (['baseline', 'candidate'] as const) : (['candidate', 'baseline'] as const);
      for (const arm of order) {
        const r = run(arms[arm], log, ROUND_MS);
        totals[arm].throughput.push(r.throughput);
        totals[arm].callMs.push(...r.callMs);
      }
    }
    const measure = (arm: 'baseline' | 'candidate'): Measurement => ({
      throughput: totals[arm].throughput.reduce((a, b) => a + b, 0) / ROUNDS,
      p50Ms: percentile(totals[arm].callMs, 50),
      p99Ms: percentile(totals[arm].callMs, 99),
      errors: 0,
      samples: totals[arm].callMs,
    });
    return { scenario, baseline: measure('baseline'), candidate: measure('candidate') };
  });
  writeReport({
    name: 'logger',
    baselineLabel: 'plain pino',
    candidateLabel: 'createLogger',
    comparisons,
    environment: {
      rounds: ROUNDS,
      roundMs: ROUND_MS,
      latency: `per-call time of batches of ${BATCH} calls`,
      destination: 'pino.destination(/dev/null, sync) for both',
      span: 'none active (no SDK started): trace fields cost only the lookup',
      cpus: navigator.hardwareConcurrency,
    },
  });
}

await main();
