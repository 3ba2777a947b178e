import { setTimeout as sleep } from 'node:timers/promises';
import { EphemeralPostgres } from '@tether/devstack';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgPool } from '../src/index.ts';
import { CaptureLogger } from './capture-logger.ts';
import { describeErrors, eventually, steadyLoad } from './load.ts';

let server: EphemeralPostgres;

beforeAll(async () => {
  server = await EphemeralPostgres.start();
  await server.sql('CREATE TABLE events (id int PRIMARY KEY)');
  await server.sql('ALTER TABLE events OWNER TO tether');
});
afterAll(async () => {
  server?.resume();
  await server?.close();
});

async function running(pattern: string): Promise<number> {
  const rows = await server.sql<{ n: number }>(
    `SELECT count(*)::int AS n FROM pg_stat_activity WHERE state = 'active' AND query LIKE $1 AND pid <> pg_backend_pid()`,
    [pattern],
  );
  return rows[0]?.n ?? -1;
}

describe('a missed deadline cancels the statement on the server', () => {
  it('the statement stops running soon after the caller got its deadline error (CancelRequest sent)', async () => {
    const pool = createPgPool({ connectionString: server.url, logger: new CaptureLogger() });
    try {
      for (const call of [
        () => pool.query('SELECT pg_sleep(20), 1 AS fast', undefined, { deadlineMs: 1_000 }),
        () => pool.withClient((c) => c.query('SELECT pg_sleep(20), 2 AS policy'), { deadlineMs: 1_000 }),
      ]) {
        await expect(call()).rejects.toMatchObject({ code: 'TETHER_DEADLINE_EXCEEDED' });
        expect(await eventually(async () => (await running('SELECT pg_sleep(20)%')) === 0, 3_000)).toBe(true);
      }
    } finally {
      await pool.drain(2_000);
    }
  });

  it("control: pg's own query_timeout rejects but leaves the statement running", async () => {
    const client = new pg.Client({ connectionString: server.url, query_timeout: 500 });
    client.on('error', () => {});
    await client.connect();
    try {
      await expect(client.query('SELECT pg_sleep(3), 3 AS control')).rejects.toThrow('Query read timeout');
      await sleep(500);
      expect(await running('SELECT pg_sleep(3), 3 AS control%')).toBe(1);
    } finally {
      await client.end().catch(() => {});
      await server.terminateBackends();
    }
  });
});

describe('drain() is bounded even when a caller leaked a client from .pool', () => {
  it('closes the leaked connection at the deadline and resolves', async () => {
    const logger = new CaptureLogger();
    const pool = createPgPool({ connectionString: server.url, logger });
    await pool.pool.connect(); // never released
    const startedAt = performance.now();
    await pool.drain(500);
    expect(performance.now() - startedAt).toBeLessThan(5_000);
    expect(logger.text).toContain('never released');
    expect(await eventually(async () => (await server.connectionCount()) === 0, 3_000)).toBe(true);
  });

  it("control: pg.Pool's end() never resolves while a client is checked out", async () => {
    const raw = new pg.Pool({ connectionString: server.url });
    const leaked = await raw.connect();
    let ended = false;
    const end = raw.end().then(() => {
      ended = true;
    });
    await sleep(2_000);
    expect(ended).toBe(false);
    leaked.release();
    await end;
  });
});

describe('a server paused (SIGSTOP) for 1.5 s under load', () => {
  it('no reconnect storm: not one new connection, no error, every write applied exactly once', async () => {
    const logger = new CaptureLogger();
    // maxConnecting = max: the warm-up below opens all ten connections at once, as before the gate
    const pool = createPgPool({ connectionString: server.url, max: 10, maxConnecting: 10, logger });
    let connects = 0;
    try {
      // Ten connections, most of which then sit idle past validateIdleAfterMs (1 s) under a light load.
      await Promise.all(Array.from({ length: 10 }, () => pool.query('SELECT pg_sleep(0.1)')));
      pool.pool.on('connect', () => connects++);
      let nextId = 1;
      const outcomes = new Map<number, 'ok' | 'error'>();
      const load = steadyLoad(() => {
        const id = nextId++;
        return pool.query('INSERT INTO events VALUES ($1)', [id]).then(
          () => void outcomes.set(id, 'ok'),
          (error: unknown) => {
            outcomes.set(id, 'error');
            throw error;
          },
        );
      }, 40);
      await sleep(1_500);
      server.pause();
      await sleep(1_500);
      server.resume();
      await sleep(2_000);
      const result = await load.stop();

      expect(result.errors, describeErrors(result.errors)).toHaveLength(0);
      expect(connects).toBe(0);
      const rows = await server.sql<{ id: number }>('SELECT id FROM events');
      expect(rows.length).toBe(outcomes.size);
      expect(new Set(rows.map((r) => r.id)).size).toBe(rows.length);
      // The fault really hit validation: pings timed out (what used to condemn every idle connection).
      expect(logger.text).toContain('the server is slow, not gone: nothing replaced');
    } finally {
      server.resume();
      await pool.drain(5_000);
    }
  });
});
