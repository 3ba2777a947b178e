import { setTimeout as sleep } from 'node:timers/promises';
import { EphemeralPostgres } from '@tether/devstack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgPool, PoolDrainingError } from '../src/index.ts';
import { CaptureLogger } from './capture-logger.ts';
import { eventually } from './load.ts';

let server: EphemeralPostgres;
beforeAll(async () => {
  server = await EphemeralPostgres.start();
});
afterAll(async () => {
  await server?.close();
});

/** Sockets and timers this process holds (what keeps it alive). */
function handles(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const kind of process.getActiveResourcesInfo()) counts[kind] = (counts[kind] ?? 0) + 1;
  return { sockets: counts['TCPSocketWrap'] ?? 0, timers: counts['Timeout'] ?? 0 };
}

describe('drain', () => {
  it('lets in-flight work finish, fails new checkouts fast with the typed error, and leaves no open handles', async () => {
    const before = handles();
    const pool = createPgPool({ connectionString: server.url, max: 5, min: 2, logger: new CaptureLogger() });
    await pool.ping();
    const inFlight = Array.from({ length: 5 }, (_, i) =>
      pool.query<{ i: number }>('SELECT pg_sleep(0.5), $1::int AS i', [i]),
    );
    await sleep(100);
    const drained = pool.drain(5_000);

    const refusedAt = performance.now();
    const refused = await pool.query('SELECT 1').catch((e: unknown) => e);
    expect(performance.now() - refusedAt).toBeLessThan(50);
    expect(refused).toBeInstanceOf(PoolDrainingError);
    expect(refused).toMatchObject({ code: 'TETHER_POOL_DRAINING', retryable: false });
    await expect(pool.transaction(async () => 1)).rejects.toMatchObject({ code: 'TETHER_POOL_DRAINING' });

    const results = await Promise.all(inFlight);
    expect(results.map((r) => r.rows[0]?.i)).toEqual([0, 1, 2, 3, 4]);
    await drained;
    expect(pool.pool.totalCount).toBe(0);
    expect(await eventually(async () => (await server.connectionCount()) === 0, 2_000)).toBe(true);
    const after = handles();
    expect(after.sockets).toBeLessThanOrEqual(before.sockets as number);
    expect(after.timers).toBeLessThanOrEqual(before.timers as number);
  });

  it('at the deadline closes the connections still in use instead of waiting for them', async () => {
    const pool = createPgPool({ connectionString: server.url, max: 2, logger: new CaptureLogger() });
    const stuck = pool.query('SELECT pg_sleep(30)').then(
      () => 'finished',
      () => 'failed',
    );
    await sleep(200);
    const startedAt = performance.now();
    await pool.drain(300);
    expect(performance.now() - startedAt).toBeLessThan(2_000);
    expect(await stuck).toBe('failed');
    expect(pool.pool.totalCount).toBe(0);
  });
});
