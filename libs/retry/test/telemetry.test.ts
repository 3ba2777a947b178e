import net from 'node:net';
import { context, SpanStatusCode, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { MeterProvider, MetricReader, type MetricData } from '@opentelemetry/sdk-metrics';
import {
  InMemorySpanExporter,
  SimpleSpanProcessor,
  TracerProvider,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace';
import { freePort } from '@tether/devstack';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CircuitBreaker, createBackoff, createRetryPolicy, RetryBudget } from '../src/index.ts';
import { rejectionOf } from './errors-of.ts';
import { mulberry32 } from './mulberry32.ts';

/** Pull-based reader: collect() on demand, nothing exported anywhere. */
class TestReader extends MetricReader {
  protected override async onShutdown(): Promise<void> {}
  protected override async onForceFlush(): Promise<void> {}
  async metric(name: string): Promise<MetricData | undefined> {
    const { resourceMetrics } = await this.collect();
    return resourceMetrics.scopeMetrics.flatMap((s) => s.metrics).find((m) => m.descriptor.name === name);
  }
}

const exporter = new InMemorySpanExporter();
const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
const tracer = provider.getTracer('test');
const contextManager = new AsyncLocalStorageContextManager();

beforeAll(() => {
  context.setGlobalContextManager(contextManager.enable());
});
afterAll(async () => {
  context.disable();
  await provider.shutdown();
});
beforeEach(() => exporter.reset());

function connectTo(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve();
    });
    socket.once('error', reject);
  });
}

function retrySpans(): ReadableSpan[] {
  return exporter.getFinishedSpans().filter((s) => s.name.startsWith('retry '));
}

describe('spans and attempt events', () => {
  let closedPort: number;
  beforeAll(async () => {
    closedPort = await freePort();
  });

  it('a retried operation gets one span under the active span, with one event per attempt', async () => {
    const seed = 7;
    const policy = createRetryPolicy({
      name: 'postgres',
      tracer,
      initialDelayMs: 5,
      maxDelayMs: 50,
      random: mulberry32(seed),
    });
    const parent = tracer.startSpan('handle request');
    const result = await context.with(trace.setSpan(context.active(), parent), () =>
      policy.execute(
        async ({ attempt }) => {
          if (attempt < 3) await connectTo(closedPort);
          // The attempt's own spans nest under the retry span once it exists.
          tracer.startSpan(`query attempt ${attempt}`).end();
          return 'rows';
        },
        { name: 'SELECT jobs' },
      ),
    );
    parent.end();
    expect(result).toBe('rows');

    const [span] = retrySpans();
    expect(retrySpans()).toHaveLength(1);
    expect(span?.name).toBe('retry SELECT jobs');
    expect(span?.parentSpanContext?.spanId).toBe(parent.spanContext().spanId);
    expect(span?.status.code).toBe(SpanStatusCode.OK);
    expect(span?.attributes).toMatchObject({
      'tether.dependency': 'postgres',
      'tether.retry.attempts': 3,
      'tether.retry.outcome': 'success',
    });

    const events = span?.events ?? [];
    // The span starts when the call did (before the first attempt failed), not when it was created.
    const ms = ([seconds, nanos]: [number, number]) => seconds * 1000 + nanos / 1e6;
    expect(ms(span?.startTime ?? [0, 0])).toBeLessThanOrEqual(ms(events[0]?.time ?? [0, 0]));
    expect(events.map((e) => e.name)).toEqual(['retry.attempt', 'retry.attempt', 'retry.attempt']);
    expect(events.map((e) => e.attributes?.['tether.retry.attempt'])).toEqual([1, 2, 3]);
    expect(events[0]?.attributes).toMatchObject({
      'tether.retry.outcome': 'failure',
      'tether.retry.decision': 'retry',
      'tether.retry.classification.kind': 'transient',
      'tether.retry.classification.safety': 'always',
      'tether.retry.classification.reason': 'ECONNREFUSED (connect)',
      'error.type': 'ECONNREFUSED',
    });
    expect(events[2]?.attributes).toMatchObject({ 'tether.retry.outcome': 'success' });
    // The delays recorded are the seeded backoff's delays.
    const expected = createBackoff({ initialDelayMs: 5, maxDelayMs: 50, random: mulberry32(seed) });
    expect(events.slice(0, 2).map((e) => e.attributes?.['tether.retry.delay_ms'])).toEqual([
      Math.round(expected.next()),
      Math.round(expected.next()),
    ]);

    const attemptSpans = exporter.getFinishedSpans().filter((s) => s.name.startsWith('query attempt'));
    expect(attemptSpans.map((s) => s.parentSpanContext?.spanId)).toEqual([span?.spanContext().spanId]);
  });

  it('a call that succeeds first time creates no span', async () => {
    const policy = createRetryPolicy({ name: 'postgres', tracer });
    await policy.execute(async () => 1);
    expect(retrySpans()).toHaveLength(0);
  });

  it('a call that gives up ends its span with an error status and the give-up event', async () => {
    const policy = createRetryPolicy({
      name: 'postgres',
      tracer,
      maxAttempts: 2,
      initialDelayMs: 1,
      maxDelayMs: 2,
    });
    await rejectionOf(policy.execute(() => connectTo(closedPort)));
    const [span] = retrySpans();
    expect(span?.status).toMatchObject({ code: SpanStatusCode.ERROR, message: 'exhausted: ECONNREFUSED' });
    expect(span?.events.map((e) => e.attributes?.['tether.retry.decision'])).toEqual(['retry', 'give_up']);
  });

  it('a hanging call that hits its deadline is recorded too', async () => {
    const policy = createRetryPolicy({ name: 'redis', tracer, deadlineMs: 50 });
    await rejectionOf(policy.execute(() => new Promise(() => {})));
    const [span] = retrySpans();
    expect(span?.attributes).toMatchObject({
      'tether.retry.outcome': 'deadline',
      'tether.retry.attempts': 1,
    });
    expect(span?.events[0]?.attributes).toMatchObject({ 'tether.retry.classification.reason': 'timeout' });
  });
});

describe('metrics', () => {
  it('counts retries and budget exhaustion, and reports breaker state as a gauge', async () => {
    const reader = new TestReader();
    const meter = new MeterProvider({ readers: [reader] }).getMeter('test');
    const closedPort = await freePort();
    const breaker = new CircuitBreaker({
      name: 'billing',
      consecutiveFailures: 4,
      halfOpenAfterMs: 60_000,
      meter,
    });
    const budget = new RetryBudget({ ratio: 0, minRetriesPerSecond: 2, now: () => 0 });
    const policy = createRetryPolicy({
      name: 'billing',
      maxAttempts: 5,
      initialDelayMs: 1,
      maxDelayMs: 1,
      budget,
      breaker,
      meter,
      tracer,
    });

    expect((await reader.metric('tether.breaker.state'))?.dataPoints[0]).toMatchObject({
      value: 0,
      attributes: { 'tether.dependency': 'billing' },
    });
    await rejectionOf(policy.execute(() => connectTo(closedPort))); // 1 attempt + 2 retries, then the budget is spent
    await rejectionOf(policy.execute(() => connectTo(closedPort))); // the 4th failure opens the breaker

    expect((await reader.metric('tether.retry.retries'))?.dataPoints[0]).toMatchObject({
      value: 2,
      attributes: { 'tether.dependency': 'billing', 'tether.retry.reason': 'ECONNREFUSED (connect)' },
    });
    expect((await reader.metric('tether.retry.budget_exhausted'))?.dataPoints[0]).toMatchObject({ value: 1 });
    expect(breaker.state).toBe('open');
    expect((await reader.metric('tether.breaker.state'))?.dataPoints[0]).toMatchObject({ value: 2 });
    expect((await reader.metric('tether.breaker.transitions'))?.dataPoints[0]).toMatchObject({
      value: 1,
      attributes: { 'tether.breaker.state': 'open' },
    });
  });
});
