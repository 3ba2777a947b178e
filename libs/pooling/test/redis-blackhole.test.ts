import { setTimeout as sleep } from 'node:timers/promises';
import { EphemeralRedis, FaultProxy } from '@tether/devstack';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createRedis } from '../src/index.ts';
import { CaptureLogger } from './capture-logger.ts';

// The request profile's defaults: socketTimeoutMs 2000 must replace the dead socket within the 5000 ms deadline.
const DEADLINE_MS = 5_000;

let server: EphemeralRedis;
let proxy: FaultProxy;

beforeAll(async () => {
  server = await EphemeralRedis.start();
});
afterEach(async () => {
  await proxy?.close();
});
afterAll(async () => {
  await server?.close();
});

describe('Redis connection silently blackholed (no FIN, no RST)', () => {
  it('request profile: the next command completes on a fresh connection within its deadline', async () => {
    proxy = await FaultProxy.start({ targetPort: server.port });
    const redis = createRedis({ url: `redis://127.0.0.1:${proxy.port}`, logger: new CaptureLogger() });
    try {
      await redis.execute((c) => c.set('k', 'v'), { idempotent: true });
      proxy.blackhole();
      const startedAt = performance.now();
      await expect(redis.execute((c) => c.get('k'), { idempotent: true })).resolves.toBe('v');
      expect(performance.now() - startedAt).toBeLessThan(DEADLINE_MS);
    } finally {
      await redis.drain(1_000);
    }
  });

  it('worker profile (no command or socket timeout): a call still returns at its deadline', async () => {
    proxy = await FaultProxy.start({ targetPort: server.port });
    const redis = createRedis({
      url: `redis://127.0.0.1:${proxy.port}`,
      profile: 'worker',
      logger: new CaptureLogger(),
    });
    try {
      await redis.execute((c) => c.set('k', 'v'));
      proxy.blackhole();
      const startedAt = performance.now();
      await expect(
        redis.execute((c) => c.get('k'), { idempotent: true, deadlineMs: 800 }),
      ).rejects.toMatchObject({ code: 'TETHER_DEADLINE_EXCEEDED' });
      const elapsed = performance.now() - startedAt;
      expect(elapsed).toBeGreaterThanOrEqual(790);
      expect(elapsed).toBeLessThan(1_300);
    } finally {
      await redis.drain(500);
    }
  });

  it('CONTROL: a plain new Redis() with default options hangs past that deadline', async () => {
    proxy = await FaultProxy.start({ targetPort: server.port });
    const raw = new Redis(`redis://127.0.0.1:${proxy.port}`);
    raw.on('error', () => {});
    try {
      await raw.set('k', 'v');
      proxy.blackhole();
      let settled = false;
      const get = raw.get('k').then(
        () => (settled = true),
        () => (settled = true),
      );
      await sleep(DEADLINE_MS + 500);
      expect(settled).toBe(false);
      raw.disconnect();
      await get;
    } finally {
      raw.disconnect();
    }
  });
});
