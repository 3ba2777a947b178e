import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTelemetry, TelemetryConfigError } from '../src/index.ts';
import { ask } from './ask.ts';
import { type App, forkApp, waitFor } from './fork-app.ts';
import { type SinkProcess, startSinkProcess } from './trace-sink-process.ts';

const apps: App[] = [];
async function start(env: Record<string, string>): Promise<App> {
  const app = await forkApp('fetch-metrics-app.ts', env);
  apps.push(app);
  return app;
}
async function scrape(app: App): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${app.ready['port']}/metrics`);
  expect(response.status).toBe(200);
  return response.text();
}

afterAll(async () => {
  await Promise.all(apps.map((app) => app.stop()));
});

// Prometheus names of @opentelemetry/instrumentation-runtime-node's metrics (the exporter adds no
// unit suffix; the unit is in the # UNIT line).
const runtimeMetrics = [
  /^nodejs_eventloop_delay_p99\{/m,
  /^nodejs_eventloop_utilization\{/m,
  /^v8js_memory_heap_used\{[^}]*v8js_heap_space_name="new_space"/m,
  /^v8js_gc_duration_bucket\{/m,
];

describe('Node runtime metrics on /metrics', () => {
  it('serves event-loop delay and utilisation, heap per space and GC durations; none with runtime: false (control)', async () => {
    const [on, off] = await Promise.all([
      start({}),
      start({ TELEMETRY_OPTIONS: JSON.stringify({ instrumentations: { runtime: false } }) }),
    ]);
    await Promise.all([
      ask(on, { op: 'garbage' }),
      ask(off, { op: 'garbage' }),
      ask(off, { op: 'count', n: 1 }),
    ]);
    const body = await waitFor(
      'runtime metrics',
      async () => {
        const text = await scrape(on);
        return runtimeMetrics.every((m) => m.test(text)) ? text : undefined;
      },
      30_000,
    );
    expect(body).toMatch(/^v8js_gc_duration_count\{[^}]*v8js_gc_type="minor"[^}]*\} [1-9]/m);
    expect(body).toMatch(/^# UNIT nodejs_eventloop_delay_p99 s$/m);
    const control = await scrape(off);
    // The control's endpoint works (the app's own counter is there), but has no runtime metrics.
    expect(control).toMatch(/^fixture_requests_total\{[^}]*\} 1/m);
    for (const metric of runtimeMetrics) expect(control).not.toMatch(metric);
  });
});

describe('metric readers and views', () => {
  it('applies views to every reader and feeds an extra reader', async () => {
    const app = await start({ EXTENSIONS: '1' });
    await ask(app, { op: 'count', n: 2 });
    const body = await scrape(app);
    expect(body).toMatch(/^fixture_requests_renamed_total\{[^}]*\} 2/m);
    expect(body).not.toMatch(/^fixture_requests_total/m);
    const { names } = await ask<{ names: string[] }>(app, { op: 'memory-metrics' });
    expect(names).toContain('fixture.requests.renamed');
    expect(names).not.toContain('fixture.requests');
    expect(names).toContain('v8js.memory.heap.used');
  });
});

describe('OTLP metrics export from the standard variables', () => {
  let sink: SinkProcess;
  beforeAll(async () => {
    sink = await startSinkProcess();
  });
  afterAll(async () => {
    await sink?.stop();
  });

  const pointsOf = (service: string) =>
    existsSync(sink.metricsFile)
      ? readFileSync(sink.metricsFile, 'utf8')
          .trim()
          .split('\n')
          .filter((l) => l !== '')
          .map((l) => JSON.parse(l) as { name: string; service: string; value?: number })
          .filter((p) => p.service === service)
      : [];

  it('pushes to OTEL_EXPORTER_OTLP_ENDPOINT every OTEL_METRIC_EXPORT_INTERVAL; OTEL_METRICS_EXPORTER=none stops it (control)', async () => {
    const common = {
      OTEL_EXPORTER_OTLP_ENDPOINT: sink.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_METRIC_EXPORT_INTERVAL: '300',
    };
    const [pushing, silent] = await Promise.all([
      start({ ...common, OTEL_SERVICE_NAME: 'metrics-pushing' }),
      start({ ...common, OTEL_SERVICE_NAME: 'metrics-silent', OTEL_METRICS_EXPORTER: 'prometheus,none' }),
    ]);
    await Promise.all([ask(pushing, { op: 'count', n: 5 }), ask(silent, { op: 'count', n: 5 })]);
    // Arrives while the app runs (periodic reader), not only at its final flush.
    const points = await waitFor(
      'metrics at the sink',
      () => {
        const all = pointsOf('metrics-pushing');
        return all.some((p) => p.name === 'fixture.requests' && p.value === 5) ? all : undefined;
      },
      30_000,
    );
    expect(points.some((p) => p.name === 'v8js.memory.heap.used')).toBe(true);
    // The control ran as long and shut down cleanly (a final flush): nothing of it reached the sink.
    expect(await silent.stop()).toBe(0);
    expect(pointsOf('metrics-silent')).toEqual([]);
    // ...although it still serves the same metrics for scraping.
    expect(await scrape(pushing)).toMatch(/^fixture_requests_total\{[^}]*\} 5/m);
  });

  /** An app pushing http/json metrics to the sink as `service`. */
  const startPushing = (service: string, env: Record<string, string>) =>
    start({
      OTEL_EXPORTER_OTLP_ENDPOINT: sink.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_SERVICE_NAME: service,
      ...env,
    });
  /** The fixture counter's values in the order they reached the sink. */
  const requestsAtSink = (service: string) =>
    pointsOf(service)
      .filter((p) => p.name === 'fixture.requests')
      .map((p) => p.value);

  it('exports at shutdown what was counted since the last push', async () => {
    // The push reader exports what the Prometheus reader collects (one storage per series, not two):
    // its final export must run before the SDK shuts that reader down.
    const app = await startPushing('metrics-final-flush', { OTEL_METRIC_EXPORT_INTERVAL: '600000' });
    await ask(app, { op: 'count', n: 3 });
    expect(await app.stop()).toBe(0);
    const values = () => requestsAtSink('metrics-final-flush');
    await waitFor('the final export at the sink', () => (values().length > 0 ? true : undefined), 30_000);
    expect(values()).toEqual([3]);
  });

  it('pushes deltas when OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE=delta, while /metrics stays cumulative', async () => {
    // Delta cannot share the Prometheus reader's cumulative collection: it keeps a reader of its own.
    const app = await startPushing('metrics-delta', {
      OTEL_METRIC_EXPORT_INTERVAL: '300',
      OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE: 'delta',
    });
    const values = () => requestsAtSink('metrics-delta');
    await ask(app, { op: 'count', n: 5 });
    await waitFor('the first delta', () => (values().includes(5) ? true : undefined), 30_000);
    await ask(app, { op: 'count', n: 2 });
    await waitFor('the second delta', () => (values().includes(2) ? true : undefined), 30_000);
    expect(values()).not.toContain(7);
    expect(await scrape(app)).toMatch(/^fixture_requests_total\{[^}]*\} 7/m);
  });

  it('uses OTEL_EXPORTER_OTLP_METRICS_ENDPOINT as is, in protobuf unless told otherwise', async () => {
    const seen: { path: string; type: string; bytes: number }[] = [];
    const receiver: Server = createServer((request, response) => {
      let bytes = 0;
      request.on('data', (chunk: Buffer) => (bytes += chunk.length));
      request.on('end', () => {
        seen.push({ path: request.url ?? '', type: request.headers['content-type'] ?? '', bytes });
        response.writeHead(200, { 'content-type': 'application/x-protobuf' });
        response.end();
      });
    });
    receiver.listen(0, '127.0.0.1');
    await once(receiver, 'listening');
    const address = receiver.address();
    const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/custom/metrics`;
    try {
      await start({ OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: url, OTEL_METRIC_EXPORT_INTERVAL: '300' });
      const first = await waitFor('a protobuf export', () => seen[0], 30_000);
      expect(first.path).toBe('/custom/metrics');
      expect(first.type).toBe('application/x-protobuf');
      expect(first.bytes).toBeGreaterThan(100);
    } finally {
      receiver.close();
      receiver.closeAllConnections();
    }
  });

  it('refuses bad metric settings up front, naming the field', () => {
    const attempt = (env: Record<string, string>, options = {}) => {
      const saved = { ...process.env };
      Object.assign(process.env, env);
      try {
        startTelemetry({ serviceName: 'x', ...options });
        throw new Error('expected a TelemetryConfigError');
      } catch (error) {
        expect(error).toBeInstanceOf(TelemetryConfigError);
        return (error as TelemetryConfigError).field;
      } finally {
        process.env = saved;
      }
    };
    expect(attempt({ OTEL_METRICS_EXPORTER: 'otlp,zipkin' })).toBe('OTEL_METRICS_EXPORTER');
    expect(attempt({ OTEL_METRICS_EXPORTER: 'otlp,console' })).toBe('OTEL_METRICS_EXPORTER');
    expect(attempt({ OTEL_METRIC_EXPORT_INTERVAL: 'soon' })).toBe('OTEL_METRIC_EXPORT_INTERVAL');
    expect(
      attempt({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:1',
        OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: 'grpc',
      }),
    ).toBe('OTEL_EXPORTER_OTLP_METRICS_PROTOCOL');
    expect(attempt({}, { metricsExport: 'statsd' })).toBe('metricsExport');
    expect(attempt({}, { extraInstrumentations: [{}] })).toBe('extraInstrumentations');
    expect(attempt({}, { metricReaders: [42] })).toBe('metricReaders');
    expect(attempt({}, { views: 'all' })).toBe('views');
  });
});
