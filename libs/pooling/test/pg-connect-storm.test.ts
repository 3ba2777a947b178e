import { setTimeout as sleep } from 'node:timers/promises';
import { EphemeralPostgres } from '@tether/devstack';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgPool } from '../src/index.ts';
import { CaptureLogger } from './capture-logger.ts';
import { ContendedProxy } from './contended-proxy.ts';

/**
 * The chaos run's `idle-reaping` and `postgres-restart` on a loaded machine: every pool of every app
 * needed new connections at once, pg-pool opened one per waiting caller, the simultaneous server
 * start-ups shared a starved CPU, each outlasted the connect timeout and was destroyed, the retries
 * opened as many again, and no connection was made for ~30 s.
 *
 * Here the server reaps idle sessions after 1 s (ALTER SYSTEM, restart) and sits behind a proxy
 * whose start-ups share one CPU: 200 ms of work each, 2 s each when ten run together, against a
 * 1.5 s connect timeout. Three bursts of 30 queries, each after a pause the server reaps every idle
 * session in, so each burst meets an empty pool.
 */
const STARTUP_WORK_MS = 200;
const CONNECT_TIMEOUT_MS = 1_500;
const MAX = 10;
const BURSTS = 3;
const PER_BURST = 30;

let server: EphemeralPostgres;

beforeAll(async () => {
  server = await EphemeralPostgres.start();
  await server.sql("ALTER SYSTEM SET idle_session_timeout = '1s'");
  await server.restart();
});

afterAll(async () => {
  await server?.close();
});

interface Outcome {
  ok: number;
  errors: string[];
  peakStartups: number;
}

/** The bursts against `query`, through a fresh contended proxy. */
async function bursts(
  open: (url: string) => { query: () => Promise<unknown>; close: () => Promise<void> },
): Promise<Outcome> {
  const proxy = await ContendedProxy.start({ host: server.host, port: server.port }, STARTUP_WORK_MS);
  const pool = open(server.url.replace(`:${server.port}/`, `:${proxy.port}/`));
  const outcome: Outcome = { ok: 0, errors: [], peakStartups: 0 };
  try {
    for (let burst = 0; burst < BURSTS; burst++) {
      const results = await Promise.allSettled(Array.from({ length: PER_BURST }, () => pool.query()));
      for (const r of results) {
        if (r.status === 'fulfilled') outcome.ok++;
        else outcome.errors.push((r.reason as Error).message);
      }
      // Longer than idle_session_timeout: the server closes every connection the burst left idle.
      await sleep(1_500);
    }
  } finally {
    await pool.close();
    outcome.peakStartups = proxy.peakStartups;
    await proxy.close();
  }
  return outcome;
}

function tetherPool(maxConnecting?: number) {
  return (url: string) => {
    const pool = createPgPool({
      connectionString: url,
      max: MAX,
      ...(maxConnecting === undefined ? {} : { maxConnecting }),
      connectTimeoutMs: CONNECT_TIMEOUT_MS,
      deadlineMs: 6_000,
      logger: new CaptureLogger(),
    });
    return { query: () => pool.query('SELECT 1'), close: () => pool.drain(2_000) };
  };
}

describe('new connections on a CPU-starved server that reaps idle sessions (idle_session_timeout 1 s)', () => {
  it('createPgPool: every query of every burst succeeds; at most maxConnecting (2) start-ups at once', async () => {
    const r = await bursts(tetherPool());
    expect(r.errors, r.errors.slice(0, 3).join('; ')).toEqual([]);
    expect(r.ok).toBe(BURSTS * PER_BURST);
    expect(r.peakStartups).toBeLessThanOrEqual(2);
  });

  it('CONTROL: a raw pg.Pool opens a connection per waiting caller; the start-ups miss the connect timeout together', async () => {
    const r = await bursts((url) => {
      const pool = new pg.Pool({
        connectionString: url,
        max: MAX,
        connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      });
      pool.on('error', () => {});
      return { query: () => pool.query('SELECT 1'), close: () => pool.end() };
    });
    expect(r.peakStartups).toBe(MAX);
    expect(r.errors.length).toBeGreaterThan(PER_BURST);
  });

  it('CONTROL: createPgPool with maxConnecting = max: its retries cannot get through the storm', async () => {
    const r = await bursts(tetherPool(MAX));
    expect(r.peakStartups).toBe(MAX);
    expect(r.errors.length).toBeGreaterThan(0);
  });
});
