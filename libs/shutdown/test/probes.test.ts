import { EphemeralPostgres } from '@tether/devstack';
import { createServer } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLifecycle, type Lifecycle } from '../src/index.ts';
import { get } from './support/fixture-process.ts';
import { memoryLogger } from './support/memory-logger.ts';

function lifecycleForTest(options: Parameters<typeof createLifecycle>[0] = {}): Lifecycle {
  return createLifecycle({
    signals: [],
    exit: () => undefined,
    logger: memoryLogger(),
    drainDelayMs: 0,
    ...options,
  });
}

async function admin(lifecycle: Lifecycle): Promise<string> {
  const { port } = await lifecycle.listenAdmin(0, '127.0.0.1');
  return `http://127.0.0.1:${port}`;
}

describe('probes', () => {
  it('startupz and readyz fail until startupComplete(); bodies list each check', async () => {
    const lifecycle = lifecycleForTest();
    const url = await admin(lifecycle);
    lifecycle.addReadinessCheck('cache', () => undefined);
    const before = await get(`${url}/startupz`);
    expect(before.status).toBe(503);
    expect((await get(`${url}/readyz`)).status).toBe(503);
    lifecycle.startupComplete();
    expect((await get(`${url}/startupz`)).status).toBe(200);
    const ready = await get(`${url}/readyz`);
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.body)).toMatchObject({
      status: 'ready',
      checks: { startup: { ok: true }, shutdown: { ok: true }, cache: { ok: true } },
    });
    expect(ready.headers['content-type']).toContain('application/json');
    await lifecycle.shutdown('test over');
  });

  it('serves /metrics through the registered handler, 404 without one', async () => {
    const lifecycle = lifecycleForTest();
    const url = await admin(lifecycle);
    expect((await get(`${url}/metrics`)).status).toBe(404);
    lifecycle.setMetricsHandler((_req, res) => res.end('# HELP up 1\nup 1\n'));
    expect(() => lifecycle.addReadinessCheck('shutdown', () => undefined)).toThrow(/built in/);
    expect((await get(`${url}/metrics`)).body).toContain('up 1');
    await lifecycle.shutdown('test over');
  });

  it('liveness fails after the event loop was blocked longer than the threshold, and recovers', async () => {
    const lifecycle = lifecycleForTest({ maxEventLoopDelayMs: 200, eventLoopWindowMs: 500 });
    const url = await admin(lifecycle);
    lifecycle.startupComplete();
    expect((await get(`${url}/livez`)).status).toBe(200);
    const until = Date.now() + 600;
    while (Date.now() < until) {
      // Blocking the event loop on purpose: that is what liveness must notice.
    }
    const blocked = await get(`${url}/livez`);
    expect(blocked.status).toBe(503);
    expect(JSON.parse(blocked.body).checks.eventLoop.delayMs).toBeGreaterThan(200);
    await sleep(1200);
    expect((await get(`${url}/livez`)).status).toBe(200);
    await lifecycle.shutdown('test over');
  });
});

describe('a registered dependency goes down (real Postgres, paused with SIGSTOP)', () => {
  let postgres: EphemeralPostgres;
  let pool: pg.Pool;
  beforeAll(async () => {
    postgres = await EphemeralPostgres.start();
    pool = new pg.Pool({ connectionString: postgres.url, max: 2 });
    pool.on('error', () => undefined);
  });
  afterAll(async () => {
    postgres.resume();
    await pool.end();
    await postgres.close();
  });

  it('readiness 503, liveness 200, every probe answered without waiting for the check while the database hangs; ready again after', async () => {
    const lifecycle = lifecycleForTest({ readinessTimeoutMs: 2000, readinessCacheMs: 200 });
    // Critical: this test is about probes that never wait, whatever the check does (shared checks: readiness-outage.test.ts).
    lifecycle.addReadinessCheck(
      'postgres',
      async () => {
        await pool.query('SELECT 1');
      },
      { critical: true },
    );
    lifecycle.startupComplete();
    const url = await admin(lifecycle);
    for (let i = 0; (await get(`${url}/readyz`)).status !== 200; i += 1) {
      expect(i).toBeLessThan(100);
      await sleep(50);
    }

    postgres.pause();
    const samples: { readyz: number; livez: number; ms: number; body: string }[] = [];
    try {
      const end = performance.now() + 5000;
      while (performance.now() < end) {
        const [readyz, livez] = await Promise.all([get(`${url}/readyz`), get(`${url}/livez`)]);
        samples.push({
          readyz: readyz.status,
          livez: livez.status,
          ms: Math.max(readyz.ms, livez.ms),
          body: readyz.body,
        });
        await sleep(50);
      }
    } finally {
      // Asserting on the samples below must not leave the database paused for the next test.
      postgres.resume();
    }
    const failing = samples.filter((s) => s.readyz === 503);
    expect(failing.length).toBeGreaterThan(0);
    expect(JSON.parse(failing.at(-1)!.body)).toMatchObject({
      status: 'not ready',
      checks: { postgres: { ok: false, error: 'timed out after 2000 ms' } },
    });
    expect(samples.every((s) => s.livez === 200)).toBe(true);
    // A probe that waited for the hung check would wait for the rest of its 2 s timeout: half the
    // samples would take about a second or more. Not a latency bound (a loaded machine may stall a
    // few probes); the median tells waiting apart from answering at once with a wide margin.
    const durations = samples.map((s) => s.ms).sort((a, b) => a - b);
    expect(durations[Math.floor(durations.length / 2)]).toBeLessThan(500);
    // ~100 probes, one query outstanding: no pile-up of connections or waiting queries on the hung database.
    expect(pool.totalCount).toBe(1);
    expect(pool.waitingCount).toBe(0);

    for (let i = 0; (await get(`${url}/readyz`)).status !== 200; i += 1) {
      expect(i).toBeLessThan(100);
      await sleep(50);
    }
    await lifecycle.shutdown('test over');
  });

  it('CONTROL: a probe that queries the database inline hangs while the database hangs', async () => {
    const naive = createServer((_req, res) => {
      void pool.query('SELECT 1').then(() => res.end('ok'));
    });
    naive.listen(0, '127.0.0.1');
    await once(naive, 'listening');
    const url = `http://127.0.0.1:${(naive.address() as AddressInfo).port}/readyz`;
    expect((await get(url)).status).toBe(200);
    postgres.pause();
    const outcome = await Promise.race([
      get(url).then(() => 'answered'),
      sleep(1000).then(() => 'still waiting after 1000 ms'),
    ]);
    expect(outcome).toBe('still waiting after 1000 ms');
    postgres.resume();
    naive.closeAllConnections();
    naive.close();
  });
});
