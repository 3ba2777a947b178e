/**
 * The tracing tax on the real API (apps/api: JWT auth, validation, @tether/pooling, Postgres):
 * `GET /v1/jobs/:id` and `POST /v1/jobs`, served by one API process per configuration, all loaded by
 * autocannon in the same run, arms alternating in rounds so machine drift hits every arm:
 *
 * - `off`: `OTEL_SDK_DISABLED=true` (no SDK, no instrumentation), twice: the A/A row is the noise floor;
 * - `on <default>`: the charts' sampling ratio (`otel.sampleRatio` in charts/api/values.yaml, read at
 *   run time), `parentbased_traceidratio` as the chart sets it;
 * - `on 100%`;
 * - `on 0%`: attribution only — the SDK, metrics and a trace context per request, no span kept.
 *
 * Traced arms export batched OTLP (http/protobuf) spans and metrics to a local drain that throws the
 * bytes away. Every API process's CPU time (all threads, the sum `process.cpuUsage()` reports) is
 * taken around each round, minus its idle rate just before, so the report has CPU µs per request:
 * unlike throughput on a shared 2-core machine it hardly depends on what else the scheduler runs.
 *
 *   npm run bench -- telemetry
 *   BENCH_CPU_PROF=<dir> npm run bench -- telemetry   # a --cpu-prof per arm, tracing code µs/request
 */
import { readdirSync, readFileSync } from 'node:fs';
import { once } from 'node:events';
import { createServer } from 'node:http';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type AppProcess, EphemeralPostgres, startApp } from '@tether/devstack';
import { migrate } from '@tether/migrations';
import type { Result as AutocannonResult } from 'autocannon';
import { SignJWT } from 'jose';
import {
  benchScale,
  type Comparison,
  type Measurement,
  type MetricComparison,
  percentile,
  writeReport,
} from './report.ts';

const quick = benchScale() === 'quick';
const ROUNDS = quick ? 1 : 4;
const ROUND_SECONDS = quick ? 0.5 : 3;
const WARMUP_SECONDS = quick ? 0.3 : 3;
const CONNECTIONS = quick ? 4 : 16;
const IDLE_MS = quick ? 50 : 500;
const SECRET = 'a-benchmark-secret-of-at-least-32-chars';
const apiEntry = new URL('../../../apps/api/src/main.ts', import.meta.url).pathname;

/** The sampling ratio the charts deploy with, so the goal follows the chart if it changes. */
function chartSampleRatio(): number {
  const values = readFileSync(new URL('../../../charts/api/values.yaml', import.meta.url), 'utf8');
  const match = /^\s*sampleRatio:\s*['"]?([0-9.]+)['"]?\s*$/m.exec(values);
  if (!match) throw new Error('charts/api/values.yaml has no otel.sampleRatio');
  return Number(match[1]);
}

interface Arm {
  /** file-name-safe id (the --cpu-prof file) */
  key: string;
  label: string;
  env: Record<string, string>;
}

interface Totals {
  requests: number;
  errors: number;
  seconds: number;
  /** CPU of the rounds, minus what the process burns idle (timers, pool upkeep) over the same time */
  cpuUs: number;
  /** CPU of the rounds as measured */
  rawCpuUs: number;
  samples: number[];
}

/**
 * CPU time of a process in µs, every thread (the sum `process.cpuUsage()` reports), from the
 * scheduler's nanosecond counters: /proc/<pid>/stat's 10 ms ticks are too coarse for the idle
 * windows below.
 */
function cpuUsOf(pid: number): number {
  let ns = 0;
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return ns / 1000;
}

/** Accepts OTLP exports and throws them away: the sink must not be what we measure. */
async function startDrain() {
  let requests = 0;
  let bytes = 0;
  const server = createServer((request, response) => {
    request.on('data', (chunk: Buffer) => (bytes += chunk.length));
    request.on('end', () => {
      requests++;
      response.writeHead(200, {
        'content-type': request.headers['content-type'] ?? 'application/x-protobuf',
      });
      response.end();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  return {
    url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`,
    requests: () => requests,
    bytes: () => bytes,
    close: () => server.close(),
  };
}

interface Route {
  scenario: string;
  method: 'GET' | 'POST';
  path: string;
  body?: string;
}

async function load(base: string, route: Route, headers: Record<string, string>, seconds: number) {
  const { default: autocannon } = await import('autocannon');
  const samples: number[] = [];
  const result = await new Promise<AutocannonResult>((resolve, reject) => {
    const instance = autocannon(
      {
        url: `${base}${route.path}`,
        method: route.method,
        headers,
        ...(route.body ? { body: route.body } : {}),
        connections: CONNECTIONS,
        duration: seconds,
      },
      (error, result) => (error ? reject(error) : resolve(result)),
    );
    // Raw per-request latencies, so p99 comes from the same percentile() as every other bench.
    instance.on('response', (_client, _status, _bytes, responseTimeMs) => samples.push(responseTimeMs));
  });
  return {
    requests: result.requests.total,
    errors: result.errors + result.non2xx + result.timeouts,
    samples,
  };
}

async function main(): Promise<void> {
  const ratio = chartSampleRatio();
  const postgres = await EphemeralPostgres.start({ settings: { max_connections: 100 } });
  const drain = await startDrain();
  const apps: AppProcess[] = [];
  try {
    await migrate({ databaseUrl: postgres.url });
    const common = {
      DATABASE_URL: postgres.url,
      // Required by the shared config loader; the API itself never connects to Redis.
      REDIS_URL: 'redis://127.0.0.1:9',
      AUTH_JWT_SECRET: SECRET,
      LOG_LEVEL: 'warn',
      OTEL_EXPORTER_OTLP_ENDPOINT: drain.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
    };
    const arms: Arm[] = [
      { key: 'off', label: 'off', env: { ...common, OTEL_SDK_DISABLED: 'true' } },
      { key: 'off-aa', label: 'off (A/A)', env: { ...common, OTEL_SDK_DISABLED: 'true' } },
      {
        key: 'on-chart-ratio',
        label: `on ${ratio * 100}%`,
        env: { ...common, OTEL_TRACES_SAMPLER_ARG: String(ratio) },
      },
      { key: 'on-100', label: 'on 100%', env: { ...common, OTEL_TRACES_SAMPLER_ARG: '1' } },
      // Attribution: the SDK, metrics (and their export) and a trace context per request, no span kept.
      { key: 'on-0', label: 'on 0% (no span kept)', env: { ...common, OTEL_TRACES_SAMPLER_ARG: '0' } },
    ];
    const profileDir = process.env['BENCH_CPU_PROF'];
    for (const arm of arms) {
      const profile = profileDir
        ? { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${profileDir} --cpu-prof-name=${arm.key}.cpuprofile` }
        : {};
      apps.push(await startApp(apiEntry, { ...arm.env, ...profile }));
    }
    await Promise.all(apps.map((app) => app.ready('/readyz', 240_000)));

    const token = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('bench')
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode(SECRET));
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const body = JSON.stringify({ type: 'demo.sleep', payload: { ms: 0, steps: 1 } });
    const first = await fetch(`http://127.0.0.1:${apps[0]!.port}/v1/jobs`, { method: 'POST', headers, body });
    const { id } = (await first.json()) as { id: string };
    const routes: Route[] = [
      { scenario: 'GET /v1/jobs/:id', method: 'GET', path: `/v1/jobs/${id}` },
      { scenario: 'POST /v1/jobs', method: 'POST', path: '/v1/jobs', body },
    ];

    const comparisons: Comparison[] = [];
    const metrics: MetricComparison[] = [];
    const cpuPerRequest: Record<string, Record<string, number>> = {};
    // The same without subtracting the idle rate, to show how much the subtraction matters.
    const rawCpuPerRequest: Record<string, Record<string, number>> = {};
    const requestsPerArm = arms.map(() => 0);
    for (const route of routes) {
      const totals: Totals[] = arms.map(() => ({
        requests: 0,
        errors: 0,
        seconds: 0,
        cpuUs: 0,
        rawCpuUs: 0,
        samples: [],
      }));
      for (const [i, app] of apps.entries()) {
        const warmup = await load(`http://127.0.0.1:${app.port}`, route, headers, WARMUP_SECONDS);
        // The profile window starts with the warm-up: its requests count for the profile's per-request figures.
        requestsPerArm[i]! += warmup.requests;
      }
      for (let round = 0; round < ROUNDS; round++) {
        // Rotate who goes first, so no arm always inherits another's warm (or hot) machine.
        for (let k = 0; k < apps.length; k++) {
          const i = (k + round) % apps.length;
          const app = apps[i]!;
          const t = totals[i]!;
          // The idle rate just before the round: at a few hundred requests/s on a loaded machine, the
          // background work (timers, pool upkeep, metric collection) is a visible share per request.
          const idleStart = cpuUsOf(app.child.pid!);
          await sleep(IDLE_MS);
          const idleUsPerMs = (cpuUsOf(app.child.pid!) - idleStart) / IDLE_MS;
          const cpuBefore = cpuUsOf(app.child.pid!);
          const startedAt = performance.now();
          const r = await load(`http://127.0.0.1:${app.port}`, route, headers, ROUND_SECONDS);
          const roundCpuUs = cpuUsOf(app.child.pid!) - cpuBefore;
          t.rawCpuUs += roundCpuUs;
          t.cpuUs += Math.max(0, roundCpuUs - idleUsPerMs * (performance.now() - startedAt));
          t.requests += r.requests;
          t.errors += r.errors;
          t.seconds += ROUND_SECONDS;
          t.samples.push(...r.samples);
        }
      }
      const measure = (t: Totals): Measurement => ({
        throughput: t.requests / t.seconds,
        p50Ms: percentile(t.samples, 50),
        p99Ms: percentile(t.samples, 99),
        errors: t.errors,
        samples: t.samples,
      });
      for (const [i, t] of totals.entries()) requestsPerArm[i]! += t.requests;
      const [off, aa, sampled, full, none] = totals as [Totals, Totals, Totals, Totals, Totals];
      comparisons.push(
        {
          scenario: `${route.scenario}: A/A (off vs off, noise floor)`,
          baseline: measure(off),
          candidate: measure(aa),
        },
        {
          scenario: `${route.scenario}: ${ratio * 100} % sampled (chart default)`,
          baseline: measure(off),
          candidate: measure(sampled),
          throughputGoal: 0.95,
        },
        {
          scenario: `${route.scenario}: 100 % sampled`,
          baseline: measure(off),
          candidate: measure(full),
          throughputGoal: 0.85,
        },
        {
          scenario: `${route.scenario}: 0 % sampled (SDK, metrics, context; attribution)`,
          baseline: measure(off),
          candidate: measure(none),
        },
      );
      const perRequest = (t: Totals) => t.cpuUs / Math.max(1, t.requests);
      cpuPerRequest[route.scenario] = Object.fromEntries(
        arms.map((arm, i) => [arm.label, Math.round(perRequest(totals[i]!))]),
      );
      rawCpuPerRequest[route.scenario] = Object.fromEntries(
        arms.map((arm, i) => [arm.label, Math.round(totals[i]!.rawCpuUs / Math.max(1, totals[i]!.requests))]),
      );
      // A CPU-bound server's throughput ratio is the inverse of its CPU ratio: the throughput goals
      // read as CPU goals (0.95x -> <= 1.053x CPU, 0.85x -> <= 1.176x), far less sensitive to load.
      const cpuGoals = [undefined, undefined, 1 / 0.95, 1 / 0.85];
      for (const [i, arm] of arms.entries()) {
        if (i === 0) continue;
        const goal = cpuGoals[i];
        metrics.push({
          scenario: `${route.scenario}: ${arm.label}`,
          metric: 'API CPU per request',
          unit: 'µs/req',
          baseline: perRequest(off),
          candidate: perRequest(totals[i]!),
          better: 'lower',
          ...(goal ? { ratioGoal: Number(goal.toFixed(3)) } : {}),
        });
      }
    }

    let profiles: Record<string, ProfileAttribution> | undefined;
    if (profileDir) {
      // Profiles are written when the processes exit.
      await Promise.all(apps.splice(0).map((app) => app.stop('SIGTERM')));
      profiles = {};
      for (const [i, arm] of arms.entries()) {
        const attribution = attributeProfile(join(profileDir, `${arm.key}.cpuprofile`), requestsPerArm[i]!);
        profiles[arm.label] = attribution;
        if (i === 0) continue;
        metrics.push({
          scenario: `both routes: ${arm.label}`,
          metric: 'tracing code CPU per request (--cpu-prof self time)',
          unit: 'µs/req',
          baseline: profiles[arms[0]!.label]!.tracingUsPerRequest,
          candidate: attribution.tracingUsPerRequest,
          better: 'lower',
        });
      }
    }

    writeReport({
      name: 'telemetry',
      baselineLabel: 'tracing off',
      candidateLabel: 'tracing on',
      comparisons,
      metrics,
      environment: {
        scale: benchScale(),
        cpuUsPerRequest: cpuPerRequest,
        rawCpuUsPerRequest: rawCpuPerRequest,
        ...(profiles ? { profiles } : {}),
        chartSampleRatio: ratio,
        connections: CONNECTIONS,
        rounds: ROUNDS,
        roundSeconds: ROUND_SECONDS,
        export: 'BatchSpanProcessor -> OTLP http/protobuf -> local drain',
        exportRequests: drain.requests(),
        exportBytes: drain.bytes(),
        cpus: availableParallelism(),
      },
    });
    if (drain.requests() === 0 && !quick)
      throw new Error('no span export reached the sink: the traced arms did not trace');
  } finally {
    await Promise.all(apps.map((app) => app.stop('SIGTERM')));
    drain.close();
    await postgres.close();
  }
}

interface ProfileNode {
  id: number;
  callFrame: { url: string; functionName: string };
}

interface ProfileAttribution {
  /** profiled CPU (not idle) per request, between the first and the last request handled */
  totalUsPerRequest: number;
  /** self time in tracing code (OpenTelemetry packages, @tether/telemetry, module hooks) per request */
  tracingUsPerRequest: number;
  garbageCollectorUsPerRequest: number;
  /** the costliest tracing functions, µs per request */
  top: Record<string, number>;
}

const TRACING_CODE =
  /node_modules\/(@opentelemetry\/|require-in-the-middle|import-in-the-middle|shimmer|module-details-from-path)|libs\/telemetry\/src\//;

/**
 * Where a process's CPU went while it served the benchmark, from its `--cpu-prof`: self time per
 * function inside the window from the first to the last sample in the API's route handlers (start-up
 * excluded), divided by the requests it served.
 */
function attributeProfile(path: string, requests: number): ProfileAttribution {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as {
    nodes: ProfileNode[];
    samples: number[];
    timeDeltas: number[];
    startTime: number;
  };
  const nodes = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
  const times: number[] = [];
  let t = profile.startTime;
  for (const delta of profile.timeDeltas) times.push((t += delta));
  const inRoutes = profile.samples.flatMap((id, i) =>
    nodes.get(id)?.url.includes('apps/api/src/routes') ? [times[i]!] : [],
  );
  const [from, to] = [Math.min(...inRoutes), Math.max(...inRoutes)];
  let total = 0;
  let tracing = 0;
  let gc = 0;
  const byFunction = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    if (times[i]! < from || times[i]! > to) return;
    const frame = nodes.get(id)!;
    const us = profile.timeDeltas[i]!;
    if (frame.functionName === '(idle)') return;
    total += us;
    if (frame.functionName === '(garbage collector)') gc += us;
    if (!TRACING_CODE.test(frame.url)) return;
    tracing += us;
    const name = `${frame.url.replace(/^.*node_modules\//, '').replace(/^.*\/libs\//, 'libs/')}:${frame.functionName}`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + us);
  });
  const perRequest = (us: number) => Number((us / Math.max(1, requests)).toFixed(1));
  return {
    totalUsPerRequest: perRequest(total),
    tracingUsPerRequest: perRequest(tracing),
    garbageCollectorUsPerRequest: perRequest(gc),
    top: Object.fromEntries(
      [...byFunction.entries()]
        .sort((a, b) => b[1] - a[1])
        .slice(0, 12)
        .map(([name, us]) => [name, perRequest(us)]),
    ),
  };
}

await main();
