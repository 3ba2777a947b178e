import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { context, SpanKind, trace } from '@opentelemetry/api';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { BatchSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { OutageTracker } from '@tether/outage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type FlatMetricPoint,
  formatOutages,
  formatTrace,
  readSpans,
  startTraceSink,
  type TraceSink,
} from '../src/index.ts';

let sink: TraceSink;
let file: string;

beforeAll(async () => {
  file = join(mkdtempSync(join(tmpdir(), 'trace-sink-')), 'traces.jsonl');
  sink = await startTraceSink({ file, port: 0 });
});
afterAll(async () => {
  await sink?.close();
});

describe('trace-sink', () => {
  it('receives a real OTLP/HTTP JSON export and prints the outage as a timeline', async () => {
    const provider = new TracerProvider({
      spanProcessors: [
        new BatchSpanProcessor({ exporter: new OTLPTraceExporter({ url: `${sink.url}/v1/traces` }) }),
      ],
    });
    const tracer = provider.getTracer('sink-test');
    const outage = new OutageTracker({ dependency: 'redis', tracer });
    outage.failure(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6379'), { code: 'ECONNREFUSED' }));
    for (let attempt = 1; attempt <= 3; attempt++) {
      await new Promise((r) => setTimeout(r, 15));
      outage.attempt({
        attempt,
        delayMs: attempt * 50,
        error: Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }),
      });
    }
    const request = tracer.startSpan('GET /v1/jobs/:id', { kind: SpanKind.SERVER });
    outage.linkTo(request, { 'tether.retry.attempt': 2 });
    const child = tracer.startSpan(
      'redis GET',
      { kind: SpanKind.CLIENT },
      trace.setSpan(context.active(), request),
    );
    child.end();
    request.end();
    outage.success();
    await provider.forceFlush();
    await provider.shutdown();

    const spans = readSpans(file);
    expect(sink.spansWritten).toBe(3);
    const episode = spans.find((s) => s.name === 'outage redis');
    expect(episode?.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(episode?.events).toHaveLength(3);
    expect(episode?.attributes['tether.outage.attempts']).toBe(3);
    expect(spans.find((s) => s.name === 'redis GET')?.parentSpanId).toBe(
      spans.find((s) => s.name === 'GET /v1/jobs/:id')?.spanId,
    );

    const timeline = formatOutages(spans);
    expect(timeline).toContain('outage redis');
    expect(timeline).toContain('first failure: ECONNREFUSED connect ECONNREFUSED 127.0.0.1:6379');
    expect(timeline).toMatch(/reconnect attempt #3 \(after 150 ms\): ECONNREFUSED refused/);
    expect(timeline).toMatch(/recovered after \d+\.\d{3} s, 3 attempts, 1 failures/);
    expect(timeline).toContain('operations that waited or were retried (1)');
    expect(timeline).toContain('GET /v1/jobs/:id');
    expect(formatOutages(spans, { dependency: 'postgres' })).toBe('no outage of postgres recorded\n');

    const tree = formatTrace(spans, spans.find((s) => s.name === 'GET /v1/jobs/:id')?.traceId as string);
    expect(tree).toMatch(/GET \/v1\/jobs\/:id .*\n.* {4}redis GET/);
  });

  it('receives a real OTLP/HTTP JSON metrics export into metrics.jsonl beside the traces', async () => {
    const reader = new PeriodicExportingMetricReader({
      exporter: new OTLPMetricExporter({ url: `${sink.url}/v1/metrics` }),
      exportIntervalMillis: 60_000,
    });
    const provider = new MeterProvider({ readers: [reader] });
    const meter = provider.getMeter('sink-test');
    meter.createCounter('jobs.enqueued').add(3, { 'job.type': 'demo.sleep' });
    meter.createHistogram('job.duration', { unit: 's' }).record(0.25);
    await provider.forceFlush();
    await provider.shutdown();

    expect(sink.metricsFile).toBe(join(file, '..', 'metrics.jsonl'));
    const points = readFileSync(sink.metricsFile, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as FlatMetricPoint);
    expect(points.find((p) => p.name === 'jobs.enqueued')).toMatchObject({
      type: 'sum',
      value: 3,
      scope: 'sink-test',
      attributes: { 'job.type': 'demo.sleep' },
    });
    expect(points.find((p) => p.name === 'job.duration')).toMatchObject({
      type: 'histogram',
      unit: 's',
      count: 1,
      sum: 0.25,
    });
    expect(sink.metricPointsWritten).toBe(points.length);
  });

  it('explains what it refuses', async () => {
    const proto = await fetch(`${sink.url}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-protobuf' },
      body: 'x',
    });
    expect(proto.status).toBe(415);
    expect(await proto.text()).toContain('OTEL_EXPORTER_OTLP_PROTOCOL=http/json');
    const bad = await fetch(`${sink.url}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"nope":1}',
    });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain('resourceSpans');
    const badMetrics = await fetch(`${sink.url}/v1/metrics`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"nope":1}',
    });
    expect(badMetrics.status).toBe(400);
    expect(await badMetrics.text()).toContain('resourceMetrics');
    expect((await fetch(`${sink.url}/other`)).status).toBe(404);
  });

  it('prints outages from the file with the CLI', async () => {
    const cli = join(import.meta.dirname, '..', 'src', 'cli.ts');
    const { stdout } = await promisify(execFile)(process.execPath, [
      '--conditions=@tether/source',
      cli,
      'outages',
      '--file',
      file,
      '--dependency',
      'redis',
    ]);
    expect(stdout).toContain('outage redis');
    expect(stdout).toContain('reconnect attempt #1');
  });
});
