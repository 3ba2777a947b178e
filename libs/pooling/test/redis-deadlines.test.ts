import { EphemeralRedis } from '@tether/devstack';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createRedis } from '../src/index.ts';
import { CaptureLogger } from './capture-logger.ts';

// Command timeouts and call deadlines run on one shared timer per client (redis-deadlines.ts), not
// one timer per command/call. These check that they still fire, for every waiting command, with
// the same errors. Bounds are generous: the point is that they fire, not how precisely.

let server: EphemeralRedis;

beforeAll(async () => {
  server = await EphemeralRedis.start();
});
afterEach(() => {
  server.resume();
});
afterAll(async () => {
  await server?.close();
});

async function settleTimes(calls: Promise<unknown>[], startedAt: number) {
  return Promise.all(
    calls.map((p) =>
      p.then(
        () => ({ error: undefined as unknown, ms: performance.now() - startedAt }),
        (error: unknown) => ({ error, ms: performance.now() - startedAt }),
      ),
    ),
  );
}

describe('shared deadline timers', () => {
  it('commandTimeoutMs: every command waiting on a paused server is rejected, the socket is kept', async () => {
    const redis = createRedis({
      url: server.url,
      commandTimeoutMs: 500,
      socketTimeoutMs: 0,
      logger: new CaptureLogger(),
    });
    try {
      await redis.ping();
      server.pause();
      const startedAt = performance.now();
      const calls = Array.from({ length: 50 }, (_, i) => redis.client.get(`k${i}`));
      const results = await settleTimes(calls, startedAt);
      for (const { error, ms } of results) {
        expect((error as Error)?.message).toBe('Command timed out');
        expect(ms).toBeGreaterThanOrEqual(490);
        expect(ms).toBeLessThan(5_000);
      }
      expect(redis.client.status).toBe('ready');
      server.resume();
      await expect(redis.client.ping()).resolves.toBe('PONG');
    } finally {
      await redis.drain(1_000);
    }
  });

  // Separately: a missed deadline resets the connection its command is in flight on (so the command
  // is not delivered late), which fails the other calls on it early.
  for (const [label, deadlineMs] of [
    ["the client's default deadline (shared timer)", undefined],
    ["a call's own deadline (its own timer)", 300],
  ] as const) {
    it(`call deadlines, ${label}: every call on a paused server ends at its deadline`, async () => {
      const redis = createRedis({
        url: server.url,
        deadlineMs: 800,
        commandTimeoutMs: 0,
        socketTimeoutMs: 0,
        logger: new CaptureLogger(),
      });
      try {
        await redis.ping();
        server.pause();
        const startedAt = performance.now();
        const calls = Array.from({ length: 20 }, () =>
          redis.execute((c) => c.get('k'), { idempotent: true, ...(deadlineMs ? { deadlineMs } : {}) }),
        );
        const expected = deadlineMs ?? 800;
        for (const { error, ms } of await settleTimes(calls, startedAt)) {
          expect(error).toMatchObject({ code: 'TETHER_DEADLINE_EXCEEDED' });
          expect(ms).toBeGreaterThanOrEqual(expected - 10);
          expect(ms).toBeLessThan(expected + 4_000);
        }
        server.resume();
        await expect(redis.execute((c) => c.ping(), { idempotent: true, deadlineMs: 5_000 })).resolves.toBe(
          'PONG',
        );
      } finally {
        await redis.drain(1_000);
      }
    });
  }
});
