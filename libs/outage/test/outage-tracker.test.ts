import { createServer, connect, type Server } from 'node:net';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { SpanStatusCode, trace } from '@opentelemetry/api';
import { DataPointType } from '@opentelemetry/sdk-metrics';
import { freePort } from '@tether/devstack';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OutageOptionsError, OutageTracker } from '../src/index.ts';
import { createHarness, type Harness } from './otel-harness.ts';

let h: Harness;
beforeEach(() => {
  h = createHarness();
});
afterEach(async () => {
  await h.close();
});

function tracker(dependency = 'postgres'): OutageTracker {
  return new OutageTracker({
    dependency,
    tracer: h.tracer,
    meter: h.meter,
    attributes: { 'server.address': '127.0.0.1' },
  });
}

/** One real TCP connect attempt; resolves to the error when the port refuses. */
function tryConnect(port: number): Promise<Error | undefined> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(undefined);
    });
    socket.once('error', (error) => resolve(error));
  });
}

describe('OutageTracker', () => {
  it('turns failure -> attempts -> success into one root span with attempt events', async () => {
    const t = tracker();
    t.failure(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }));
    expect(t.inOutage).toBe(true);
    for (let attempt = 1; attempt <= 3; attempt++) {
      await sleep(20);
      t.attempt({
        attempt,
        delayMs: attempt * 10,
        error: Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }),
      });
    }
    t.success();
    expect(t.inOutage).toBe(false);

    const spans = h.exporter.getFinishedSpans();
    expect(spans).toHaveLength(1);
    const [span] = spans;
    expect(span?.name).toBe('outage postgres');
    expect(span?.parentSpanContext).toBeUndefined();
    expect(span?.status.code).toBe(SpanStatusCode.OK);
    expect(span?.attributes).toMatchObject({
      'tether.outage.dependency': 'postgres',
      'server.address': '127.0.0.1',
      'error.type': 'ECONNREFUSED',
      'tether.outage.attempts': 3,
      'tether.outage.failures': 1,
      'tether.outage.outcome': 'recovered',
    });
    expect(span?.attributes['tether.outage.duration_ms']).toBeGreaterThanOrEqual(55);
    expect(span?.events.map((e) => e.name)).toEqual([
      'reconnect.attempt',
      'reconnect.attempt',
      'reconnect.attempt',
    ]);
    expect(span?.events[2]?.attributes).toMatchObject({
      'tether.reconnect.attempt': 3,
      'tether.reconnect.delay_ms': 30,
      'error.type': 'ECONNREFUSED',
    });
  });

  it('opens ONE episode when many operations fail at once on a refusing port', async () => {
    const t = tracker('redis');
    const port = await freePort();
    const errors = await Promise.all(Array.from({ length: 50 }, () => tryConnect(port)));
    expect(errors.every((e) => e !== undefined)).toBe(true);
    for (const error of errors) t.failure(error);
    t.success();
    t.success();
    const spans = h.exporter.getFinishedSpans();
    expect(spans).toHaveLength(1);
    expect(spans[0]?.attributes['tether.outage.failures']).toBe(50);
  });

  it('ignores success and attempts when no episode is open', () => {
    const t = tracker();
    t.attempt({ attempt: 1 });
    t.success();
    expect(t.episode).toBeUndefined();
    expect(h.exporter.getFinishedSpans()).toHaveLength(0);
  });

  it('starts a root span even when the failing operation runs inside a request span', () => {
    const t = tracker();
    h.tracer.startActiveSpan('GET /jobs', (request) => {
      t.failure(new Error('Connection terminated unexpectedly'));
      request.end();
    });
    t.success();
    const outage = h.exporter.getFinishedSpans().find((s) => s.name === 'outage postgres');
    const request = h.exporter.getFinishedSpans().find((s) => s.name === 'GET /jobs');
    expect(outage?.parentSpanContext).toBeUndefined();
    expect(outage?.spanContext().traceId).not.toBe(request?.spanContext().traceId);
  });

  it('links operations that waited to the episode', () => {
    const t = tracker();
    const healthy = h.tracer.startSpan('before outage');
    expect(t.linkTo(healthy)).toBe(false);
    healthy.end();

    t.failure(new Error('boom'));
    const episode = t.episode;
    const op = h.tracer.startSpan('SELECT jobs');
    expect(t.linkTo(op, { 'tether.retry.attempts': 2 })).toBe(true);
    op.end();
    const manual = h.tracer.startSpan('manual link');
    manual.addLink({ context: episode!, attributes: { reason: 'waited' } });
    manual.end();
    t.success();

    const spans = h.exporter.getFinishedSpans();
    const outage = spans.find((s) => s.name === 'outage postgres');
    const linked = spans.find((s) => s.name === 'SELECT jobs');
    expect(spans.find((s) => s.name === 'before outage')?.links).toHaveLength(0);
    expect(linked?.links).toHaveLength(1);
    expect(linked?.links[0]?.context.spanId).toBe(outage?.spanContext().spanId);
    expect(linked?.links[0]?.attributes).toMatchObject({
      'tether.outage.dependency': 'postgres',
      'tether.retry.attempts': 2,
    });
    expect(spans.find((s) => s.name === 'manual link')?.links[0]?.context.traceId).toBe(
      outage?.spanContext().traceId,
    );
  });

  it('close() during an outage ends the episode with ERROR and ignores later failures', () => {
    const t = tracker();
    t.failure(new Error('down'));
    t.close();
    t.failure(new Error('still down'));
    expect(t.inOutage).toBe(false);
    const spans = h.exporter.getFinishedSpans();
    expect(spans).toHaveLength(1);
    expect(spans[0]?.status).toEqual({ code: SpanStatusCode.ERROR, message: 'closed during outage' });
    expect(spans[0]?.attributes['tether.outage.outcome']).toBe('closed');
  });

  it('close() when healthy records nothing', () => {
    tracker().close();
    expect(h.exporter.getFinishedSpans()).toHaveLength(0);
  });

  it('reports tether.outage.count, .duration (s) and .active', async () => {
    const t = tracker('redis');
    for (let i = 0; i < 2; i++) {
      t.failure(new Error('down'));
      await sleep(30);
      t.success();
    }
    const { resourceMetrics } = await h.collect();
    const all = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics);
    const count = all.find((m) => m.descriptor.name === 'tether.outage.count');
    const duration = all.find((m) => m.descriptor.name === 'tether.outage.duration');
    const active = all.find((m) => m.descriptor.name === 'tether.outage.active');
    expect(count?.dataPoints[0]?.value).toBe(2);
    expect(count?.dataPoints[0]?.attributes).toEqual({ 'tether.outage.dependency': 'redis' });
    expect(duration?.descriptor.unit).toBe('s');
    expect(duration?.dataPointType).toBe(DataPointType.HISTOGRAM);
    const histogram = duration?.dataPoints[0]?.value as { count: number; sum: number };
    expect(histogram.count).toBe(2);
    expect(histogram.sum).toBeGreaterThanOrEqual(0.05);
    expect(histogram.sum).toBeLessThan(5);
    expect(active?.dataPoints[0]?.value).toBe(0);
  });

  it('never exports credentials found in driver error messages', () => {
    const t = tracker();
    t.failure(new Error('could not connect to postgres://tether:s3cr3t-pw@db.internal:5432/app'));
    t.attempt({ error: new Error('host=db password=hunter2 sslmode=require: timeout') });
    t.attempt({
      error: new Error(
        'upgrade to wss://gw/v1/stream?access_token=qs-secret&max_tokens=5 got 503 (Bearer bear-secret)',
      ),
    });
    t.attempt({ error: new Error('WRONGPASS invalid username-password pair or user is disabled.') });
    t.success();
    const json = JSON.stringify(h.exporter.getFinishedSpans().map((s) => ({ a: s.attributes, e: s.events })));
    expect(json).toContain('postgres://***@db.internal');
    for (const secret of ['s3cr3t-pw', 'hunter2', 'qs-secret', 'bear-secret'])
      expect(json).not.toContain(secret);
    // The shared rule matches whole words: look-alikes and the driver's own wording stay readable.
    expect(json).toContain('max_tokens=5');
    expect(json).toContain('WRONGPASS invalid username-password pair or user is disabled.');
  });

  it('uses the global tracer when none is given', () => {
    // Registering the harness provider globally proves the default path reaches the SDK.
    const exporterSpansBefore = h.exporter.getFinishedSpans().length;
    const registered = trace.setGlobalTracerProvider({ getTracer: () => h.tracer });
    expect(registered).toBe(true);
    const t = new OutageTracker({ dependency: 'ws:gateway' });
    t.failure();
    t.success();
    trace.disable();
    expect(h.exporter.getFinishedSpans().length).toBe(exporterSpansBefore + 1);
    expect(h.exporter.getFinishedSpans().at(-1)?.name).toBe('outage ws:gateway');
  });

  it('rejects bad options naming the field', () => {
    const make = (options: unknown) => () => new OutageTracker(options as never);
    expect(make({})).toThrow(OutageOptionsError);
    expect(make({})).toThrow('dependency is required (e.g. "postgres")');
    expect(make({ dependency: ' ' })).toThrow('dependency must be a non-empty string, got " "');
    expect(make({ dependency: 'pg', attributes: [] })).toThrow('attributes must be an object, got an array');
    expect(make({ dependency: 'pg', tracer: {} })).toThrow(
      'tracer must have startSpan() method (an OpenTelemetry Tracer), got an object',
    );
    try {
      make({ dependency: 'pg', meter: 42 })();
    } catch (error) {
      expect(error).toMatchObject({ code: 'TETHER_INVALID_OPTION', field: 'meter', retryable: false });
    }
    expect.assertions(6);
  });
});

describe('OutageTracker on a real TCP outage', () => {
  let server: Server | undefined;
  afterEach(() => server?.close());

  async function listen(port: number): Promise<Server> {
    const s = createServer((socket) => socket.end());
    s.listen(port, '127.0.0.1');
    await once(s, 'listening');
    return s;
  }

  it('measures one episode whose duration matches the time the port was down', async () => {
    const port = await freePort();
    server = await listen(port);
    const t = tracker('tcp');
    let running = true;
    let attempt = 0;
    // The shape of a reconnect loop: probe every 20 ms, report what happened.
    const loop = (async () => {
      while (running) {
        const error = await tryConnect(port);
        if (error) {
          if (t.inOutage) t.attempt({ attempt: ++attempt, delayMs: 20, error });
          else t.failure(error);
        } else {
          attempt = 0;
          t.success();
        }
        await sleep(20);
      }
    })();
    await sleep(100);
    const downAt = performance.now();
    await new Promise<void>((resolve) => server!.close(() => resolve()));
    await sleep(400);
    server = await listen(port);
    const downMs = performance.now() - downAt;
    await sleep(150);
    running = false;
    await loop;

    const spans = h.exporter.getFinishedSpans();
    expect(spans).toHaveLength(1);
    const durationMs = spans[0]?.attributes['tether.outage.duration_ms'] as number;
    // The loop notices within one probe interval on both edges; allow generous scheduling slack.
    expect(durationMs).toBeGreaterThan(downMs - 100);
    expect(durationMs).toBeLessThan(downMs + 250);
    expect(spans[0]?.events.length).toBeGreaterThanOrEqual(5);
  });
});
