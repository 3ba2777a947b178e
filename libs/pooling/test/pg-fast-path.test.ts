import { EphemeralPostgres } from '@tether/devstack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgPool } from '../src/index.ts';
import { CaptureLogger } from './capture-logger.ts';

let server: EphemeralPostgres;

beforeAll(async () => {
  server = await EphemeralPostgres.start();
});

afterAll(async () => {
  await server?.close();
});

/**
 * query() runs its first attempt outside the retry policy whatever the call's deadline (the API's
 * is 3 s, shorter than the 5 s connect timeout): every wait of that attempt is bounded by the
 * deadline itself, pg-pool's queue included.
 */
describe('query() with a deadline shorter than connectTimeoutMs', () => {
  it('waiting in the queue of a saturated pool ends at the deadline, not at connectTimeoutMs', async () => {
    const pool = createPgPool({
      connectionString: server.url,
      max: 1,
      connectTimeoutMs: 20_000,
      logger: new CaptureLogger(),
    });
    try {
      let release!: () => void;
      const held = pool.withClient(async (c) => {
        await c.query('SELECT 1');
        await new Promise<void>((r) => (release = r));
      });
      while (release === undefined) await new Promise((r) => setTimeout(r, 10));
      const startedAt = performance.now();
      const error = await pool.query('SELECT 1', undefined, { deadlineMs: 500 }).catch((e: unknown) => e);
      const elapsed = performance.now() - startedAt;
      expect(error).toMatchObject({ code: 'TETHER_DEADLINE_EXCEEDED' });
      // Far from the 20 s pg-pool would have waited (a loaded machine may add a few seconds).
      expect(elapsed).toBeLessThan(10_000);
      release();
      await held;
      // The connection the late checkout would have received went back to the pool: it still works.
      await expect(
        pool.query<{ x: number }>('SELECT 1 AS x', undefined, { deadlineMs: 500 }),
      ).resolves.toMatchObject({
        rows: [{ x: 1 }],
      });
      expect(pool.pool.totalCount).toBe(1);
    } finally {
      await pool.drain(2_000);
    }
  });

  it('a hung statement is stopped at the deadline and its connection closed, not reused', async () => {
    const pool = createPgPool({ connectionString: server.url, max: 2, logger: new CaptureLogger() });
    const evictions: string[] = [];
    pool.on('evict', (e) => evictions.push(e.reason));
    try {
      await pool.ping();
      const error = await pool
        .query('SELECT pg_sleep(10)', undefined, { deadlineMs: 700 })
        .catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'TETHER_DEADLINE_EXCEEDED' });
      for (let i = 0; i < 50 && evictions.length === 0; i++) await new Promise((r) => setTimeout(r, 100));
      // 'fatal_error' (the statement's own timeout) is the fast path's; the policy's would be 'aborted'.
      expect(evictions).toEqual(['fatal_error']);
      await expect(pool.query<{ x: number }>('SELECT 1 AS x')).resolves.toMatchObject({ rows: [{ x: 1 }] });
    } finally {
      await pool.drain(2_000);
    }
  });
});
