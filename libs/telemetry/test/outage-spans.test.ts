import { setTimeout as sleep } from 'node:timers/promises';
import { SpanStatusCode, type Tracer } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
  TracerProvider,
} from '@opentelemetry/sdk-trace';
import { context } from '@opentelemetry/api';
import { EphemeralPostgres, EphemeralRedis } from '@tether/devstack';
import { createPgPool, createRedis } from '@tether/pooling';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let exporter: InMemorySpanExporter;
let provider: TracerProvider;
let tracer: Tracer;

beforeAll(() => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  exporter = new InMemorySpanExporter();
  provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  tracer = provider.getTracer('outage-test');
});
afterAll(async () => {
  await provider.shutdown();
  context.disable();
});

/** Steady traffic (~100 ops/s) until stopped; each operation is a span, like a request would be. */
function traffic(operation: () => Promise<unknown>): { stop(): Promise<{ ok: number; failed: number }> } {
  let running = true;
  let ok = 0;
  let failed = 0;
  const inFlight = new Set<Promise<void>>();
  const loop = (async () => {
    while (running) {
      const op = tracer
        .startActiveSpan('operation', async (span) => {
          try {
            await operation();
            ok++;
          } catch {
            failed++;
          } finally {
            span.end();
          }
        })
        .finally(() => inFlight.delete(op));
      inFlight.add(op);
      await sleep(10);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      await Promise.all(inFlight);
      return { ok, failed };
    },
  };
}

function outageSpans(dependency: string): ReadableSpan[] {
  return exporter.getFinishedSpans().filter((s) => s.name === `outage ${dependency}`);
}

function linkedTo(span: ReadableSpan): ReadableSpan[] {
  return exporter
    .getFinishedSpans()
    .filter((s) => s.links.some((l) => l.context.spanId === span.spanContext().spanId));
}

describe('a Redis restart during traffic (through @tether/pooling)', () => {
  let redis: EphemeralRedis;
  beforeAll(async () => {
    redis = await EphemeralRedis.start();
  });
  afterAll(async () => {
    await redis?.close();
  });

  it('produces exactly one outage span whose duration is close to the outage, linked from the retried operations', async () => {
    const client = createRedis({ url: redis.url, name: 'redis', tracer, reconnectMaxDelayMs: 200 });
    // CONTROL: what a plain ioredis client reports for the same outage — a stream of errors, one per
    // reconnect attempt. A span per error would bury the outage in noise.
    const naive = new Redis(redis.url, { retryStrategy: () => 100, maxRetriesPerRequest: 0 });
    let naiveErrors = 0;
    naive.on('error', () => naiveErrors++);
    try {
      await client.execute((c) => c.set('k', 'v'), { idempotent: true });
      const load = traffic(() => client.execute((c) => c.get('k'), { idempotent: true, deadlineMs: 6_000 }));
      await sleep(300);
      const downAt = performance.now();
      await redis.restart(1_500);
      const outageMs = performance.now() - downAt;
      await sleep(500);
      const result = await load.stop();

      const spans = outageSpans('redis');
      expect(spans).toHaveLength(1);
      const [span] = spans as [ReadableSpan];
      const durationMs = span.attributes['tether.outage.duration_ms'] as number;
      // The client notices the close within ms and reconnects within one backoff step (<= 200 ms); the
      // margin is wider because on a loaded 2-core machine the restart's own timing skews by 100s of ms.
      expect(durationMs).toBeGreaterThan(outageMs - 1_000);
      expect(durationMs).toBeLessThan(outageMs + 1_000);
      expect(span.status.code).toBe(SpanStatusCode.OK);
      expect(span.parentSpanContext).toBeUndefined();
      expect(span.events.filter((e) => e.name === 'reconnect.attempt').length).toBeGreaterThanOrEqual(2);
      // Operations that rode through the outage point at it; no error reached them.
      expect(linkedTo(span).length).toBeGreaterThan(0);
      expect(result.failed).toBe(0);
      expect(naiveErrors).toBeGreaterThan(1);
    } finally {
      naive.disconnect();
      await client.drain(2_000);
    }
  });
});

describe('a Postgres restart during traffic (through @tether/pooling)', () => {
  let postgres: EphemeralPostgres;
  beforeAll(async () => {
    postgres = await EphemeralPostgres.start();
  });
  afterAll(async () => {
    await postgres?.close();
  });

  it('produces exactly one outage span whose duration is close to the outage', async () => {
    const pool = createPgPool({ connectionString: postgres.url, name: 'postgres', tracer, max: 4 });
    try {
      await pool.query('SELECT 1');
      const load = traffic(() => pool.query('SELECT 1', undefined, { idempotent: true, deadlineMs: 8_000 }));
      await sleep(300);
      const downAt = performance.now();
      await postgres.restart(1_500);
      const outageMs = performance.now() - downAt;
      await sleep(800);
      const result = await load.stop();

      const spans = outageSpans('postgres');
      expect(spans).toHaveLength(1);
      const [span] = spans as [ReadableSpan];
      const durationMs = span.attributes['tether.outage.duration_ms'] as number;
      expect(durationMs).toBeGreaterThan(outageMs - 1_000);
      expect(durationMs).toBeLessThan(outageMs + 1_500);
      expect(span.status.code).toBe(SpanStatusCode.OK);
      expect(linkedTo(span).length).toBeGreaterThan(0);
      expect(result.failed).toBe(0);
    } finally {
      await pool.drain(2_000);
    }
  });
});
