import { once } from 'node:events';
import { DataPointType, type Histogram, type MetricData } from '@opentelemetry/sdk-metrics';
import { setTimeout as sleep } from 'node:timers/promises';
import { EphemeralRedis } from '@tether/devstack';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedis, PoolDrainingError } from '../src/index.ts';
import { CaptureLogger } from './capture-logger.ts';
import { describeErrors, eventually, steadyLoad } from './load.ts';
import { createHarness, type Harness } from './otel-harness.ts';

let server: EphemeralRedis;
let h: Harness;

beforeAll(async () => {
  server = await EphemeralRedis.start();
  h = createHarness();
});

afterAll(async () => {
  await h?.close();
  await server?.close();
});

async function firstAccepted(timeoutMs: number): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    try {
      await server.command('PING');
      return performance.now();
    } catch {
      await sleep(20);
    }
  }
  throw new Error('redis never accepted connections again');
}

describe('createRedis (request profile) under server-side faults', () => {
  it('all connections killed server-side: 200 operations, 0 errors reach the caller', async () => {
    const redis = createRedis({ url: server.url, logger: new CaptureLogger() });
    try {
      await redis.ping();
      expect(await server.killClients()).toBeGreaterThanOrEqual(1);
      const errors: unknown[] = [];
      for (let wave = 0; wave < 10; wave++) {
        const results = await Promise.allSettled(
          Array.from({ length: 20 }, (_, i) =>
            redis.execute(
              async (c) => {
                await c.set(`k${i}`, String(wave));
                return c.get(`k${i}`);
              },
              { idempotent: true },
            ),
          ),
        );
        results.forEach((r) => {
          if (r.status === 'rejected') errors.push(r.reason);
          else expect(r.value).toBe(String(wave));
        });
      }
      expect(errors, describeErrors(errors)).toHaveLength(0);
    } finally {
      await redis.drain();
    }
  });

  it('Redis restarted under ~200 ops/s: no error for idempotent work, first success within 1 s of recovery, one outage span', async () => {
    h.exporter.reset();
    const redis = createRedis({
      url: server.url,
      deadlineMs: 10_000,
      logger: new CaptureLogger(),
      tracer: h.tracer,
      meter: h.meter,
    });
    try {
      await redis.ping();
      const load = steadyLoad(() => redis.execute((c) => c.get('steady'), { idempotent: true }), 200);
      await sleep(500);
      await server.stop();
      const downAt = performance.now();
      const accepted = firstAccepted(30_000);
      await sleep(1_000);
      await server.start();
      const acceptedAt = await accepted;
      await sleep(1_000);
      const result = await load.stop();

      expect(result.errors, describeErrors(result.errors)).toHaveLength(0);
      expect(result.ok).toBeGreaterThan(300);
      const firstSuccess = result.successTimes.filter((t) => t > downAt).sort((a, b) => a - b)[0];
      expect((firstSuccess ?? Number.POSITIVE_INFINITY) - acceptedAt).toBeLessThan(1_000);

      const outages = h.exporter.getFinishedSpans().filter((s) => s.name === 'outage redis');
      expect(outages).toHaveLength(1);
      const outage = outages[0];
      expect(outage?.events.filter((e) => e.name === 'reconnect.attempt').length).toBeGreaterThan(0);
      const linked = h.exporter
        .getFinishedSpans()
        .filter(
          (s) =>
            s.name.startsWith('retry ') &&
            s.links.some((l) => l.context.spanId === outage?.spanContext().spanId),
        );
      expect(linked.length).toBeGreaterThan(0);
    } finally {
      await redis.drain();
    }
  });

  it('follows a failover: READONLY from a demoted node reconnects and the write lands once the node is promoted', async () => {
    const replica = await EphemeralRedis.start({ settings: { replicaof: `${server.host} ${server.port}` } });
    h.exporter.reset();
    const redis = createRedis({ url: replica.url, logger: new CaptureLogger(), tracer: h.tracer });
    try {
      await redis.ping();
      let landedAt = 0;
      const write = redis
        .execute((c) => c.set('failover', 'done'), { idempotent: true, deadlineMs: 5_000 })
        .then((r) => {
          landedAt = performance.now();
          return r;
        });
      await sleep(300);
      const promotedAt = performance.now();
      await replica.command('REPLICAOF', 'NO', 'ONE');
      await expect(write).resolves.toBe('OK');
      expect(landedAt).toBeGreaterThan(promotedAt);
      expect(await replica.command('GET', 'failover')).toBe('done');
      // Refused while the node was a replica (READONLY -> reconnect), retried until it was promoted.
      const failed = h.exporter
        .getFinishedSpans()
        .flatMap((s) =>
          s.events.filter(
            (e) => e.name === 'retry.attempt' && e.attributes?.['tether.retry.outcome'] === 'failure',
          ),
        );
      expect(failed.length).toBeGreaterThan(0);
    } finally {
      await redis.drain();
      await replica.close();
    }
  });
});

describe('createRedis worker profile', () => {
  it('a blocking read survives its connection being killed, and subscriptions are restored', async () => {
    const worker = createRedis({ url: server.url, profile: 'worker', logger: new CaptureLogger() });
    const subscriber = createRedis({ url: server.url, profile: 'worker', logger: new CaptureLogger() });
    const producer = new Redis(server.url);
    try {
      await worker.ping();
      await subscriber.client.subscribe('events');
      const messages: string[] = [];
      subscriber.client.on('message', (_channel: string, message: string) => messages.push(message));

      const popped = worker.execute((c) => c.blpop('jobs', 10), { idempotent: true });
      await sleep(200);
      // The worker's and the subscriber's connections.
      expect(await server.killClients()).toBeGreaterThanOrEqual(2);
      expect(
        await eventually(
          () => subscriber.client.status === 'ready' && worker.client.status === 'ready',
          5_000,
        ),
      ).toBe(true);
      await sleep(200);
      await producer.rpush('jobs', 'job-1');
      await expect(popped).resolves.toEqual(['jobs', 'job-1']);

      expect(
        await eventually(async () => (await producer.publish('events', 'after-reconnect')) === 1, 5_000, 100),
      ).toBe(true);
      expect(await eventually(() => messages.includes('after-reconnect'), 2_000)).toBe(true);
    } finally {
      producer.disconnect();
      await worker.drain();
      await subscriber.drain();
    }
  });
});

describe('createRedis drain', () => {
  it('lets in-flight commands finish, refuses new ones at once, and closes the connection', async () => {
    const redis = createRedis({ url: server.url, logger: new CaptureLogger() });
    await redis.ping();
    const inFlight = redis.execute((c) =>
      c.eval(
        'local t = redis.call("TIME") while true do local n = redis.call("TIME") if (n[1] - t[1]) * 1000000 + (n[2] - t[2]) > 300000 then return "slow" end end',
        0,
      ),
    );
    await sleep(50);
    const drained = redis.drain(5_000);
    const refused = await redis.execute((c) => c.get('x')).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(PoolDrainingError);
    expect(refused).toMatchObject({ code: 'TETHER_POOL_DRAINING' });
    await expect(inFlight).resolves.toBe('slow');
    await drained;
    if (redis.client.status !== 'end') await once(redis.client, 'end');
    expect(redis.client.status).toBe('end');
  });
});

describe('createRedis metrics', () => {
  async function metric(name: string): Promise<MetricData | undefined> {
    const { resourceMetrics } = await h.collect();
    return resourceMetrics.scopeMetrics.flatMap((m) => m.metrics).find((m) => m.descriptor.name === name);
  }
  const ofPool = (m: MetricData | undefined) =>
    m?.dataPoints.filter((p) => p.attributes['db.client.connection.pool.name'] === 'metrics-redis') ?? [];

  it('exports db.client.connection.* metrics and counts a server-closed connection as an eviction', async () => {
    const redis = createRedis({
      url: server.url,
      name: 'metrics-redis',
      meter: h.meter,
      logger: new CaptureLogger(),
    });
    try {
      await redis.ping();
      for (let i = 0; i < 5; i++) await redis.execute((c) => c.set(`m${i}`, String(i)));
      expect(await server.killClients()).toBe(1);
      const reconnected = await eventually(
        async () => (await redis.execute((c) => c.get('m1'), { idempotent: true })) === '1',
        5_000,
      );
      expect(reconnected).toBe(true);

      // Reconnected and quiet: its one connection is idle, none used.
      const states = Object.fromEntries(
        ofPool(await metric('db.client.connection.count')).map((p) => [
          p.attributes['db.client.connection.state'],
          p.value,
        ]),
      );
      expect(states).toEqual({ idle: 1, used: 0 });
      expect(ofPool(await metric('db.client.connection.max'))[0]?.value).toBe(1);
      // Connections made: the first and the one after the kill. Uses: PING, 5 SETs, at least one GET.
      for (const [name, atLeast] of [
        ['db.client.connection.create_time', 2],
        ['db.client.connection.use_time', 7],
      ] as const) {
        const m = await metric(name);
        expect(m?.dataPointType, name).toBe(DataPointType.HISTOGRAM);
        expect(m?.descriptor.unit).toBe('s');
        const count = ofPool(m).reduce((n, p) => n + (p.value as Histogram).count, 0);
        expect(count, name).toBeGreaterThanOrEqual(atLeast);
      }
      const evictions = ofPool(await metric('tether.db.client.connection.evictions'));
      expect(
        evictions.find((p) => p.attributes['tether.eviction.reason'] === 'closed')?.value,
      ).toBeGreaterThanOrEqual(1);
    } finally {
      await redis.drain(2_000);
    }
  });
});
