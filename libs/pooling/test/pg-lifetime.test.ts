import { setTimeout as sleep } from 'node:timers/promises';
import { EphemeralPostgres } from '@tether/devstack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgPool, type PgEvictionEvent } from '../src/index.ts';
import { CaptureLogger } from './capture-logger.ts';
import { eventually, steadyLoad } from './load.ts';
import { createInsertTable, InsertLedger, reconcileInserts } from './pg-writes.ts';

let server: EphemeralPostgres;
beforeAll(async () => {
  server = await EphemeralPostgres.start();
  await createInsertTable(server, 'writes');
});
afterAll(async () => {
  await server?.close();
});

const MAX_LIFETIME_MS = 4_000;
const JITTER_MS = 2_000;
// Timers on a shared 2-core machine fire late, never early.
const LATE_MS = 400;

describe('maximum lifetime with jitter', () => {
  it('spreads the recycling of 50 connections opened together across the jitter window, never interrupting a query', async () => {
    const pool = createPgPool({
      connectionString: server.url,
      max: 50,
      maxConnecting: 50, // 50 connections opened together, as the test's name says
      maxLifetimeMs: MAX_LIFETIME_MS,
      maxLifetimeJitterMs: JITTER_MS,
      idleTimeoutMs: 0,
      validateIdleAfterMs: 60_000,
      logger: new CaptureLogger(),
    });
    const startedAt = performance.now();
    const recycled: { atMs: number; event: PgEvictionEvent }[] = [];
    pool.on('evict', (event) => recycled.push({ atMs: performance.now() - startedAt, event }));
    try {
      // 49 short queries and one that is still running when its connection's lifetime ends.
      const long = pool.query<{ pid: number }>('SELECT pg_sleep(4.5), pg_backend_pid() AS pid');
      await Promise.all(Array.from({ length: 49 }, () => pool.query('SELECT pg_sleep(0.2)')));
      expect(pool.pool.totalCount).toBe(50);

      const longPid = (await long).rows[0]?.pid;
      expect(longPid).toBeTypeOf('number');
      const longDoneMs = performance.now() - startedAt;
      expect(await eventually(() => recycled.length === 50, MAX_LIFETIME_MS + LATE_MS + 2_000, 50)).toBe(
        true,
      );

      expect(recycled.every((r) => r.event.reason === 'lifetime')).toBe(true);
      // The busy connection was recycled only once its query had finished.
      const busy = recycled.filter((r) => r.event.processId === longPid);
      expect(busy).toHaveLength(1);
      expect(busy[0]?.atMs).toBeGreaterThanOrEqual(longDoneMs);
      expect(busy[0]?.event.ageMs).toBeGreaterThanOrEqual(4_500);

      const idle = recycled.filter((r) => r.event.processId !== longPid).map((r) => r.event.ageMs);
      expect(idle).toHaveLength(49);
      expect(Math.min(...idle)).toBeGreaterThanOrEqual(MAX_LIFETIME_MS - JITTER_MS);
      expect(Math.max(...idle)).toBeLessThanOrEqual(MAX_LIFETIME_MS + LATE_MS);
      // Uniform over the window: every quarter gets some (expected ~12 each; < 3 has odds below 1e-8).
      const quarters = [0, 0, 0, 0];
      for (const age of idle)
        quarters[Math.min(3, Math.floor(((age - (MAX_LIFETIME_MS - JITTER_MS)) / JITTER_MS) * 4))]! += 1;
      for (const q of quarters) expect(q).toBeGreaterThanOrEqual(3);
    } finally {
      await pool.drain(5_000);
    }
  });

  it('recycles connections under ~100 non-idempotent INSERTs/s: every write succeeds, each applied exactly once', async () => {
    const pool = createPgPool({
      connectionString: server.url,
      max: 10,
      maxLifetimeMs: 1_500,
      maxLifetimeJitterMs: 500,
      logger: new CaptureLogger(),
    });
    const lifetimeEvictions: PgEvictionEvent[] = [];
    pool.on('evict', (e) => {
      if (e.reason === 'lifetime') lifetimeEvictions.push(e);
    });
    try {
      await Promise.all(Array.from({ length: 10 }, () => pool.query('SELECT pg_sleep(0.05)')));
      const ledger = new InsertLedger();
      const load = steadyLoad(
        () => ledger.write((id) => pool.query('INSERT INTO writes VALUES ($1)', [id])),
        100,
      );
      // Several lifetimes: every connection of the warm-up is recycled at least once under load.
      expect(await eventually(() => lifetimeEvictions.length >= 10, 20_000, 50)).toBe(true);
      await sleep(500);
      await load.stop();
      const r = await reconcileInserts(server, 'writes', ledger.outcomes);
      // A connection is retired only between statements, so no write is ever in doubt.
      expect(r).toMatchObject({ notSent: 0, unknown: 0 });
      expect(r.ok).toBeGreaterThan(100);
    } finally {
      await pool.drain(5_000);
    }
  });
});
