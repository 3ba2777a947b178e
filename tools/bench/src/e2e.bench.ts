/**
 * End to end: POST /v1/jobs -> the job's first event at a client subscribed over WebSocket, and on
 * to its `running` event (the worker took it; pushed live through the outbox relay, the Redis
 * stream and the gateway). Against the whole platform as `npm start` runs it (devstack CLI: api,
 * worker, ws-gateway, Postgres, Redis, tracing to the local sink), and against a raw baseline doing
 * the same path with raw pg INSERT + NOTIFY, a LISTENing worker and a raw `ws` push (e2e-raw.ts), on
 * the same Postgres.
 *
 * Load is open loop at a fixed rate from a process of its own (latency counted from each job's due
 * time, so queueing is not hidden); arms alternate in rounds; an A/A row (raw vs raw) shows the
 * noise floor. Results are metric rows (p50/p99 per milestone) with the samples for the curves.
 * There is no published goal for this path: the rows carry none, the ratio is the result.
 *
 * Run: `npm run bench -- e2e`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { E2eClientOptions } from './e2e-client.ts';
import { createRawSchema } from './e2e-raw.ts';
import { emptyTally, fixedRateInChild, type Tally } from './load.ts';
import { benchScale, type MetricComparison, percentile, writeReport } from './report.ts';
import { startStackProcess } from './stack-process.ts';

const quick = benchScale() === 'quick';
const RATE = quick ? 10 : 20;
const ROUNDS = quick ? 1 : 3;
const ROUND_MS = quick ? 1_500 : 10_000;
/** at the start of every round, in the same load process, not counted (connections, JIT) */
const WARMUP_MS = quick ? 300 : 2_000;
const CONNECTIONS = 8;
/** milestones an op marks, besides its own end (`running`) */
const FIRST = 'first event';

interface Arm {
  label: string;
  client: E2eClientOptions;
}

/** One process per role, like the platform's three apps. */
async function startRaw(databaseUrl: string): Promise<{ api: string; ws: string; children: ChildProcess[] }> {
  const file = fileURLToPath(new URL('./e2e-raw.ts', import.meta.url));
  const start = async (role: string) => {
    const child = spawn(process.execPath, ['--conditions=@tether/source', file, role], {
      env: { ...process.env, DATABASE_URL: databaseUrl },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const line = createInterface({ input: child.stdout as NonNullable<typeof child.stdout> });
    const [first] = (await Promise.race([
      once(line, 'line'),
      once(child, 'exit').then(() => {
        throw new Error(`raw ${role} exited during start-up`);
      }),
    ])) as [string];
    return { child, port: (JSON.parse(first) as { port?: number }).port };
  };
  const [api, worker, ws] = await Promise.all([start('api'), start('worker'), start('ws')]);
  return {
    api: `http://127.0.0.1:${api.port}`,
    ws: `ws://127.0.0.1:${ws.port}/v1/stream`,
    children: [api.child, worker.child, ws.child],
  };
}

function load(arm: Arm): Promise<Tally> {
  return fixedRateInChild({
    module: new URL('./e2e-client.ts', import.meta.url),
    args: arm.client,
    perSecond: RATE,
    durationMs: ROUND_MS,
    warmupMs: WARMUP_MS,
  });
}

function merge(into: Tally, from: Tally): void {
  into.latenciesMs.push(...from.latenciesMs);
  into.errors += from.errors;
  into.ops += from.ops;
  into.elapsedMs += from.elapsedMs;
  for (const [name, values] of Object.entries(from.marksMs ?? {}))
    (into.marksMs![name] ??= []).push(...values);
}

function rows(scenario: string, baseline: number[], candidate: number[]): MetricComparison[] {
  const row = (p: number): MetricComparison => ({
    scenario,
    metric: `p${p}`,
    unit: 'ms',
    baseline: percentile(baseline, p),
    candidate: percentile(candidate, p),
    better: 'lower',
    // One set of curves per scenario: on its p99 row.
    ...(p === 99 ? { samples: { baseline, candidate } } : {}),
  });
  return [row(50), row(99)];
}

async function main(): Promise<void> {
  process.stdout.write(`e2e benchmark: starting the stack (${benchScale()} scale)\n`);
  const startedAt = performance.now();
  const stack = await startStackProcess();
  const children: ChildProcess[] = [];
  const stop = async () => {
    for (const child of children) child.kill('SIGTERM');
    await stack.stop();
  };
  // Stopped by the runner (time limit, Ctrl-C): take the stack down through its graceful path.
  process.once('SIGTERM', () => void stop().finally(() => process.exit(143)));
  const seconds = () => ((performance.now() - startedAt) / 1000).toFixed(1);
  process.stdout.write(`  stack up after ${seconds()} s\n`);
  try {
    const { description } = stack;
    await createRawSchema(description.databaseUrl);
    const raw = await startRaw(description.databaseUrl);
    children.push(...raw.children);
    const client = { connections: CONNECTIONS, timeoutMs: 15_000 };
    const arms: Arm[] = [
      { label: 'raw', client: { ...client, api: raw.api, ws: raw.ws } },
      {
        label: 'tether',
        client: { ...client, api: description.api, ws: description.ws, token: description.token },
      },
      { label: 'raw (A/A)', client: { ...client, api: raw.api, ws: raw.ws } },
    ];
    const tallies = arms.map(() => emptyTally());
    for (let round = 0; round < ROUNDS; round++) {
      // Rotate who goes first so no arm always inherits a warm (or a busy) machine.
      for (let k = 0; k < arms.length; k++) {
        const i = (k + round) % arms.length;
        merge(tallies[i] as Tally, await load(arms[i] as Arm));
        process.stdout.write(
          `  round ${round + 1}/${ROUNDS} ${(arms[i] as Arm).label} done after ${seconds()} s\n`,
        );
      }
    }
    const [rawT, tetherT, aaT] = tallies as [Tally, Tally, Tally];
    const first = (t: Tally) => t.marksMs?.[FIRST] ?? [];
    const accepted = (t: Tally) => t.marksMs?.['POST 202'] ?? [];
    const at = `${RATE}/s`;
    const metrics = [
      ...rows(
        `POST /v1/jobs -> first event (queued) at the subscribed client, ${at}`,
        first(rawT),
        first(tetherT),
      ),
      ...rows(
        `POST /v1/jobs -> running event (worker took the job), ${at}`,
        rawT.latenciesMs,
        tetherT.latenciesMs,
      ),
      ...rows(`POST /v1/jobs -> 202, ${at}`, accepted(rawT), accepted(tetherT)),
      ...rows(`A/A noise floor: raw vs raw, POST -> running event, ${at}`, rawT.latenciesMs, aaT.latenciesMs),
    ];
    const errors = Object.fromEntries(arms.map((arm, i) => [arm.label, (tallies[i] as Tally).errors]));
    writeReport({
      name: 'e2e',
      baselineLabel: 'raw pg NOTIFY + ws',
      candidateLabel: 'tether stack',
      comparisons: [],
      metrics,
      environment: {
        rate: RATE,
        rounds: ROUNDS,
        roundMs: ROUND_MS,
        warmupMsPerRound: WARMUP_MS,
        wsConnections: CONNECTIONS,
        jobsPerArm: Object.fromEntries(arms.map((arm, i) => [arm.label, (tallies[i] as Tally).ops])),
        errors,
        job: 'demo.sleep { ms: 0, steps: 1 }',
        stack: 'devstack CLI (npm start): api, worker, ws-gateway; tracing to the local trace sink',
        baseline:
          'e2e-raw.ts: node:http + pg INSERT/NOTIFY, LISTENing worker, ws push; no auth, no outbox, no Redis',
        goals: 'none published for this path',
      },
    });
    const failed = Object.entries(errors).filter(([, n]) => n > 0);
    if (failed.length > 0)
      throw new Error(
        `jobs that failed or whose events never arrived: ${failed.map(([k, n]) => `${k} ${n}`).join(', ')}`,
      );
  } finally {
    await stop();
  }
}

await main();
