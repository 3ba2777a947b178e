import { setTimeout as sleep } from 'node:timers/promises';
import { EphemeralRedis, FaultProxy } from '@tether/devstack';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createRedis, type TetherRedis } from '../src/index.ts';
import { CaptureLogger } from './capture-logger.ts';
import { eventually } from './load.ts';

// The worker profile queues commands while disconnected. A command whose caller already got its
// deadline error must never run afterwards; a plain ioredis client runs it late. Writes are INCRs:
// a late run shows up as a count of 1 on a server that started empty.

let server: EphemeralRedis;
let proxy: FaultProxy | undefined;

beforeAll(async () => {
  server = await EphemeralRedis.start();
});
afterEach(async () => {
  await proxy?.close();
  proxy = undefined;
  if (!server.pid) await server.start();
});
afterAll(async () => {
  await server?.close();
});

/** A call with a client-side deadline, as a naive caller writes one. */
function withDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  return Promise.race([
    work,
    sleep(ms).then(() => {
      throw Object.assign(new Error('deadline'), { code: 'TETHER_DEADLINE_EXCEEDED' });
    }),
  ]);
}

async function counter(key: string): Promise<number> {
  return Number((await server.command('GET', key)) ?? 0);
}

function worker(url: string, extra: { offlineQueueLimit?: number } = {}): TetherRedis {
  return createRedis({ url, profile: 'worker', logger: new CaptureLogger(), ...extra });
}

function naive(url: string): Redis {
  const raw = new Redis(url);
  raw.on('error', () => {});
  return raw;
}

describe('worker profile: a command past its deadline never runs later', () => {
  it('Redis down (connection refused): the queued INCR is dropped at the deadline; CONTROL: plain ioredis runs it after the restart', async () => {
    const redis = worker(server.url);
    const raw = naive(server.url);
    try {
      await redis.ping();
      await raw.ping();
      await server.stop();
      await expect(redis.execute((c) => c.incr('late:tether'), { deadlineMs: 500 })).rejects.toMatchObject({
        code: 'TETHER_DEADLINE_EXCEEDED',
      });
      await expect(withDeadline(raw.incr('late:raw'), 500)).rejects.toMatchObject({
        code: 'TETHER_DEADLINE_EXCEEDED',
      });
      await server.start();
      // The control's queued INCR lands once ioredis reconnects…
      expect(await eventually(async () => (await counter('late:raw')) === 1, 10_000, 50)).toBe(true);
      // …and by the time our client has reconnected and answered a later command, ours never did.
      expect(await eventually(() => redis.client.status === 'ready', 10_000)).toBe(true);
      await redis.execute((c) => c.ping(), { idempotent: true });
      await sleep(200);
      expect(await counter('late:tether')).toBe(0);
    } finally {
      raw.disconnect();
      await redis.drain(1_000);
    }
  });

  it('network blackhole while reconnecting (SYNs dropped): the queued INCR is dropped; CONTROL: plain ioredis runs it once the network heals', async () => {
    proxy = await FaultProxy.start({ targetPort: server.port });
    const url = `redis://127.0.0.1:${proxy.port}`;
    const redis = worker(url);
    const raw = naive(url);
    try {
      await redis.ping();
      await raw.ping();
      // RST the open connections, then drop every packet of new ones: reconnects hang in SYN-SENT.
      proxy.reset();
      proxy.blackhole({ newConnections: true });
      expect(
        await eventually(() => redis.client.status !== 'ready' && raw.status !== 'ready', 5_000, 5),
      ).toBe(true);
      await expect(redis.execute((c) => c.incr('bh:tether'), { deadlineMs: 500 })).rejects.toMatchObject({
        code: 'TETHER_DEADLINE_EXCEEDED',
      });
      await expect(withDeadline(raw.incr('bh:raw'), 500)).rejects.toMatchObject({
        code: 'TETHER_DEADLINE_EXCEEDED',
      });
      await proxy.heal();
      expect(await eventually(async () => (await counter('bh:raw')) === 1, 20_000, 50)).toBe(true);
      expect(await eventually(() => redis.client.status === 'ready', 20_000)).toBe(true);
      await redis.execute((c) => c.ping(), { idempotent: true });
      await sleep(200);
      expect(await counter('bh:tether')).toBe(0);
    } finally {
      raw.disconnect();
      await redis.drain(1_000);
    }
  });

  it('queued commands within their deadline still run once Redis is back (each exactly once)', async () => {
    const redis = worker(server.url);
    try {
      await redis.ping();
      await server.stop();
      const calls = Array.from({ length: 5 }, () =>
        redis.execute((c) => c.incr('queued'), { deadlineMs: 10_000 }),
      );
      await sleep(300);
      await server.start();
      expect((await Promise.all(calls)).sort()).toEqual([1, 2, 3, 4, 5]);
      expect(await counter('queued')).toBe(5);
    } finally {
      await redis.drain(1_000);
    }
  });

  it('the offline queue is bounded: past offlineQueueLimit a call fails at once and sends nothing', async () => {
    const redis = worker(server.url, { offlineQueueLimit: 3 });
    try {
      await redis.ping();
      await server.stop();
      expect(await eventually(() => redis.client.status !== 'ready', 5_000, 5)).toBe(true);
      const queued = Array.from({ length: 3 }, () =>
        redis.execute((c) => c.incr('bounded'), { deadlineMs: 10_000 }),
      );
      const startedAt = performance.now();
      const refused = await redis
        .execute((c) => c.incr('bounded'), { deadlineMs: 200 })
        .catch((e: unknown) => e);
      // The limit error is "nothing sent", so the policy retried it until the deadline.
      expect(refused).toMatchObject({
        code: 'TETHER_DEADLINE_EXCEEDED',
        cause: expect.objectContaining({ code: 'TETHER_REDIS_OFFLINE_QUEUE_FULL' }),
      });
      expect(performance.now() - startedAt).toBeLessThan(5_000);
      await server.start();
      expect((await Promise.all(queued)).sort()).toEqual([1, 2, 3]);
      await sleep(200);
      expect(await counter('bounded')).toBe(3);
    } finally {
      await redis.drain(1_000);
    }
  });
});

// Lua that INCRs, then keeps the server busy for 400 ms: the write is done before the reply is sent.
const INCR_THEN_BUSY =
  'redis.call("INCR", KEYS[1]) local t = redis.call("TIME") while true do local n = redis.call("TIME") if (n[1] - t[1]) * 1000000 + (n[2] - t[2]) > 400000 then return 1 end end';

describe('worker profile: the connection dies with a write in flight', () => {
  it('the write is not re-sent on the next connection: counted once, the caller told it may have run', async () => {
    proxy = await FaultProxy.start({ targetPort: server.port });
    const redis = worker(`redis://127.0.0.1:${proxy.port}`);
    try {
      await redis.ping();
      const call = redis
        .execute((c) => c.eval(INCR_THEN_BUSY, 1, 'inflight:tether'))
        .catch((e: unknown) => e);
      await sleep(150);
      proxy.reset();
      expect(await call).toMatchObject({ code: 'TETHER_REDIS_CONNECTION_LOST' });
      expect(await eventually(() => redis.client.status === 'ready', 10_000)).toBe(true);
      await redis.execute((c) => c.ping(), { idempotent: true });
      expect(await counter('inflight:tether')).toBe(1);
    } finally {
      await redis.drain(1_000);
    }
  });

  it('CONTROL: plain ioredis re-sends it after reconnecting and reports success for a write applied twice', async () => {
    proxy = await FaultProxy.start({ targetPort: server.port });
    const raw = naive(`redis://127.0.0.1:${proxy.port}`);
    try {
      await raw.ping();
      const call = raw.eval(INCR_THEN_BUSY, 1, 'inflight:raw');
      await sleep(150);
      proxy.reset();
      await expect(call).resolves.toBe(1);
      expect(await counter('inflight:raw')).toBe(2);
    } finally {
      raw.disconnect();
    }
  });
});
