/**
 * The tracing tax: an Express route reading one row from Postgres (the API's shape), served by a
 * child process with tracing OFF (no SDK loaded at all) and ON (@tether/telemetry, 100 % sampled,
 * batched OTLP export to a local sink), loaded by autocannon in the same run. Arms alternate in
 * rounds so machine drift hits both. Also reports ON at 10 % sampling, the production setting, and
 * ON without the http instrumentation, to attribute the cost.
 *
 *   npm run bench -- telemetry
 *
 * The same file is the server (`telemetry.bench.ts serve`), so both arms run identical app code.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:http';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { EphemeralPostgres } from '@tether/devstack';
import type { Result as AutocannonResult } from 'autocannon';
import { type Measurement, percentile, writeReport } from './report.ts';

const ROUNDS = 4;
const ROUND_SECONDS = 3;
// After 1-4 s of warm-up the first measured rounds still used more CPU per request than later ones
// (traced 1.3-2.4x, untraced 1.1-1.6x: JIT and machine load), and only 4 rounds average that in.
const WARMUP_SECONDS = 5;
const CONNECTIONS = 16;
const ROWS = 10_000;

interface Arm {
  label: string;
  env: Record<string, string>;
}

async function serve(): Promise<void> {
  const tracing = process.env['BENCH_TRACING'] === 'on';
  if (tracing) {
    // Before express and pg load (dynamic imports below), as an app entry point does it.
    const { startTelemetry } = await import('@tether/telemetry');
    // BENCH_INSTRUMENTATIONS=express,pg: only those (attribution runs).
    const only = process.env['BENCH_INSTRUMENTATIONS']?.split(',');
    startTelemetry({
      serviceName: 'bench-api',
      sampleRatio: Number(process.env['BENCH_SAMPLE_RATIO'] ?? '1'),
      ...(only
        ? {
            instrumentations: {
              http: only.includes('http'),
              express: only.includes('express'),
              pg: only.includes('pg'),
              ioredis: false,
            },
          }
        : {}),
    });
  }
  const { default: express } = await import('express');
  const { default: pg } = await import('pg');
  const pool = new pg.Pool({ connectionString: process.env['DATABASE_URL'], max: 10 });
  pool.on('error', () => {});
  const app = express();
  app.get('/items/:id', async (request, response) => {
    const result = await pool.query('SELECT id, name, payload FROM bench_items WHERE id = $1', [
      Number(request.params.id),
    ]);
    response.json(result.rows[0] ?? null);
  });
  // CPU time of this process, so the parent can report CPU per request: unlike throughput on a
  // shared 2-core machine, it does not depend on what else the scheduler is running.
  app.get('/__cpu', (_request, response) => {
    const { user, system } = process.cpuUsage();
    response.json({ cpuUs: user + system });
  });
  const server = app.listen(0, '127.0.0.1', () => {
    const address = server.address();
    console.log(JSON.stringify({ port: typeof address === 'object' && address ? address.port : 0 }));
  });
  process.once('SIGTERM', () => process.exit(0));
}

/** Accepts OTLP exports and throws them away: the sink must not be what we measure. */
async function startDrain(): Promise<{
  url: string;
  requests: () => number;
  bytes: () => number;
  close: () => void;
}> {
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

async function startServer(arm: Arm): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(
    process.execPath,
    ['--conditions=@tether/source', fileURLToPath(import.meta.url), 'serve'],
    {
      env: { ...process.env, ...arm.env },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const [line] = (await once(createInterface({ input: child.stdout! }), 'line')) as [string];
  const { port } = JSON.parse(line) as { port: number };
  return { child, url: `http://127.0.0.1:${port}` };
}

async function load(
  url: string,
  seconds: number,
): Promise<{ requests: number; errors: number; samples: number[] }> {
  const { default: autocannon } = await import('autocannon');
  const samples: number[] = [];
  let id = 0;
  const result = await new Promise<AutocannonResult>((resolve, reject) => {
    const instance = autocannon(
      {
        url,
        connections: CONNECTIONS,
        duration: seconds,
        requests: [{ setupRequest: (req) => ({ ...req, path: `/items/${(id++ % ROWS) + 1}` }) }],
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
  const postgres = await EphemeralPostgres.start({ settings: { max_connections: 100 } });
  const drain = await startDrain();
  const servers: ChildProcess[] = [];
  try {
    await postgres.sql(
      `CREATE TABLE bench_items (id int PRIMARY KEY, name text NOT NULL, payload jsonb NOT NULL)`,
    );
    await postgres.sql(
      `INSERT INTO bench_items SELECT i, 'item ' || i, jsonb_build_object('n', i, 'tags', jsonb_build_array('a', 'b')) FROM generate_series(1, ${ROWS}) i`,
    );
    await postgres.sql('GRANT SELECT ON bench_items TO tether');
    const common = { DATABASE_URL: postgres.url, OTEL_EXPORTER_OTLP_ENDPOINT: drain.url, LOG_LEVEL: 'warn' };
    const arms: Arm[] = [
      { label: 'off', env: { ...common, BENCH_TRACING: 'off' } },
      { label: 'on 100%', env: { ...common, BENCH_TRACING: 'on', BENCH_SAMPLE_RATIO: '1' } },
      { label: 'on 10%', env: { ...common, BENCH_TRACING: 'on', BENCH_SAMPLE_RATIO: '0.1' } },
      // Attribution: SDK, hooks and express + pg loaded, but without http nothing starts a request span.
      {
        label: 'sdk, no http',
        env: {
          ...common,
          BENCH_TRACING: 'on',
          BENCH_SAMPLE_RATIO: '1',
          BENCH_INSTRUMENTATIONS: 'express,pg',
        },
      },
    ];
    const started = await Promise.all(arms.map((arm) => startServer(arm)));
    servers.push(...started.map((s) => s.child));
    const totals = arms.map(() => ({
      requests: 0,
      errors: 0,
      seconds: 0,
      cpuUs: 0,
      samples: [] as number[],
    }));
    const cpuOf = async (url: string) =>
      ((await (await fetch(`${url}/__cpu`)).json()) as { cpuUs: number }).cpuUs;
    for (const s of started) await load(s.url, WARMUP_SECONDS);
    for (let round = 0; round < ROUNDS; round++) {
      // Rotate who goes first, so neither arm always inherits the other's warm (or hot) machine.
      for (let k = 0; k < started.length; k++) {
        const i = (k + round) % started.length;
        const s = started[i] as (typeof started)[number];
        const cpuBefore = await cpuOf(s.url);
        const r = await load(s.url, ROUND_SECONDS);
        (totals[i] as (typeof totals)[number]).cpuUs += (await cpuOf(s.url)) - cpuBefore;
        const t = totals[i] as (typeof totals)[number];
        t.requests += r.requests;
        t.errors += r.errors;
        t.seconds += ROUND_SECONDS;
        t.samples.push(...r.samples);
        await sleep(200);
      }
    }
    const measure = (i: number): Measurement => {
      const t = totals[i] as (typeof totals)[number];
      return {
        throughput: t.requests / t.seconds,
        p50Ms: percentile(t.samples, 50),
        p99Ms: percentile(t.samples, 99),
        errors: t.errors,
      };
    };
    writeReport({
      name: 'telemetry',
      baselineLabel: 'tracing off',
      candidateLabel: 'tracing on',
      comparisons: [
        {
          scenario: 'GET /items/:id (pg read), 100 % sampled',
          baseline: measure(0),
          candidate: measure(1),
          throughputGoal: 0.85,
        },
        {
          scenario: 'GET /items/:id (pg read), 10 % sampled',
          baseline: measure(0),
          candidate: measure(2),
          throughputGoal: 0.85,
        },
        {
          scenario: 'SDK on, http instrumentation off (no request spans)',
          baseline: measure(0),
          candidate: measure(3),
        },
      ],
      environment: {
        cpuUsPerRequest: Object.fromEntries(
          arms.map((arm, i) => {
            const t = totals[i] as (typeof totals)[number];
            return [arm.label, Math.round(t.cpuUs / Math.max(1, t.requests))];
          }),
        ),
        connections: CONNECTIONS,
        rounds: ROUNDS,
        roundSeconds: ROUND_SECONDS,
        instrumentations: 'http, express, pg, ioredis (tether defaults)',
        export: 'BatchSpanProcessor -> OTLP http/protobuf -> local drain',
        exportRequests: drain.requests(),
        exportBytes: drain.bytes(),
        cpus: (await import('node:os')).availableParallelism(),
      },
    });
    console.log(
      'server CPU per request (µs): ' +
        arms
          .map(
            (arm, i) =>
              `${arm.label} ${Math.round((totals[i]?.cpuUs ?? 0) / Math.max(1, totals[i]?.requests ?? 0))}`,
          )
          .join(', '),
    );
    if (drain.requests() === 0)
      throw new Error('no span export reached the sink: the traced arm did not trace');
  } finally {
    for (const child of servers) child.kill('SIGTERM');
    drain.close();
    await postgres.close();
  }
}

if (process.argv[2] === 'serve') await serve();
else await main();
