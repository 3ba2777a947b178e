import { EphemeralRedis } from '@tether/devstack';
import { createRetryPolicy } from '@tether/retry';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createRedis } from '../src/index.ts';
import { CaptureLogger } from './capture-logger.ts';
import { eventually } from './load.ts';

// Retry safety per attempt: "nothing reached the server" is a fact about one command, not about an
// execute() callback. Every write here is an INCR, so a callback run twice shows up as a count of 2.

let server: EphemeralRedis;

beforeAll(async () => {
  server = await EphemeralRedis.start();
});
beforeEach(async () => {
  await server.command('FLUSHALL');
});
afterAll(async () => {
  await server?.close();
});

/** Kills the client's connection and waits until it is down: its next command is refused unsent. */
async function killAndWaitDown(client: { status: string }): Promise<void> {
  expect(await server.killClients()).toBeGreaterThanOrEqual(1);
  expect(await eventually(() => client.status !== 'ready', 5_000, 5)).toBe(true);
}

async function counter(key: string): Promise<number> {
  return Number((await server.command('GET', key)) ?? 0);
}

describe('execute(): INCR a; <connection killed>; INCR b', () => {
  // Both paths of execute(): the fast first attempt, and the retry policy from the start (a signal).
  for (const path of ['fast path', 'policy path'] as const) {
    it(`${path}: not idempotent -> the callback runs once, a counted once, the caller gets the error`, async () => {
      const redis = createRedis({ url: server.url, logger: new CaptureLogger() });
      try {
        await redis.ping();
        let runs = 0;
        const error = await redis
          .execute(
            async (c) => {
              runs++;
              await c.incr('a');
              if (runs === 1) await killAndWaitDown(c);
              await c.incr('b');
            },
            path === 'policy path' ? { signal: new AbortController().signal } : {},
          )
          .catch((e: unknown) => e);
        expect((error as Error).message).toBe(
          "Stream isn't writeable and enableOfflineQueue options is false",
        );
        expect(runs).toBe(1);
        expect(await counter('a')).toBe(1);
        expect(await counter('b')).toBe(0);
      } finally {
        await redis.drain(1_000);
      }
    });
  }

  it('idempotent: the callback is run again and succeeds', async () => {
    const redis = createRedis({ url: server.url, logger: new CaptureLogger() });
    try {
      await redis.ping();
      let runs = 0;
      await redis.execute(
        async (c) => {
          runs++;
          await c.set('a', 'x');
          if (runs === 1) await killAndWaitDown(c);
          await c.set('b', 'y');
        },
        { idempotent: true },
      );
      expect(runs).toBeGreaterThanOrEqual(2);
      expect(await server.command('MGET', 'a', 'b')).toEqual(['x', 'y']);
    } finally {
      await redis.drain(1_000);
    }
  });

  it('nothing of the attempt sent yet: a refused first INCR is still retried, and counted once', async () => {
    const redis = createRedis({ url: server.url, logger: new CaptureLogger() });
    try {
      await redis.ping();
      await killAndWaitDown(redis.client);
      let runs = 0;
      await redis.execute(async (c) => {
        runs++;
        await c.incr('a');
      });
      expect(runs).toBeGreaterThanOrEqual(2);
      expect(await counter('a')).toBe(1);
    } finally {
      await redis.drain(1_000);
    }
  });

  it('CONTROL: the per-error rule (a policy that does not record what the attempt sent) increments a twice', async () => {
    const raw = new Redis(server.url, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      lazyConnect: true,
    });
    raw.on('error', () => {});
    const policy = createRetryPolicy({
      name: 'control',
      initialDelayMs: 25,
      maxAttempts: 50,
      deadlineMs: 5_000,
    });
    try {
      await raw.connect();
      let runs = 0;
      await policy.execute(async () => {
        runs++;
        await raw.incr('a');
        if (runs === 1) await killAndWaitDown(raw);
        await raw.incr('b');
      });
      expect(runs).toBeGreaterThanOrEqual(2);
      expect(await counter('a')).toBeGreaterThanOrEqual(2);
      expect(await counter('b')).toBe(1);
    } finally {
      raw.disconnect();
    }
  });

  it('MULTI, pipelines and scripts run through the attempt view like any command', async () => {
    const redis = createRedis({ url: server.url, logger: new CaptureLogger() });
    try {
      const multi = await redis.execute((c) => c.multi().incr('m').incr('m').exec());
      expect(multi).toEqual([
        [null, 1],
        [null, 2],
      ]);
      const pipeline = await redis.execute((c) => c.pipeline().incr('p').get('p').exec());
      expect(pipeline).toEqual([
        [null, 1],
        [null, '1'],
      ]);
      await expect(redis.execute((c) => c.eval('return redis.call("INCR", KEYS[1])', 1, 'e'))).resolves.toBe(
        1,
      );
      expect(await server.command('MGET', 'm', 'p', 'e')).toEqual(['2', '1', '1']);
    } finally {
      await redis.drain(1_000);
    }
  });
});
