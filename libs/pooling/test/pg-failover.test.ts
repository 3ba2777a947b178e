import { EphemeralPostgres } from '@tether/devstack';
import { attemptsOf } from '@tether/retry';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgPool, type PgEvictionEvent } from '../src/index.ts';
import { CaptureLogger } from './capture-logger.ts';
import { eventually } from './load.ts';

let server: EphemeralPostgres;

beforeAll(async () => {
  server = await EphemeralPostgres.start();
  await server.sql('CREATE TABLE writes (id int PRIMARY KEY)');
  await server.sql('ALTER TABLE writes OWNER TO tether');
});
afterAll(async () => {
  await server?.close();
});

/** What a failover looks like from a client: the sessions die, new ones land on a read-only server. */
async function becomeReadOnly(): Promise<void> {
  await server.sql('ALTER DATABASE tether SET default_transaction_read_only = on', [], 'postgres');
  await server.terminateBackends();
}

/** The new primary takes over: new sessions are writable again; old read-only sessions stay read-only. */
async function becomeWritable(): Promise<void> {
  await server.sql('ALTER DATABASE tether RESET default_transaction_read_only', [], 'postgres');
}

async function count(id: number): Promise<number> {
  const rows = await server.sql<{ n: number }>('SELECT count(*)::int AS n FROM writes WHERE id = $1', [id]);
  return rows[0]?.n ?? -1;
}

describe('25006 read_only_sql_transaction after a failover-like switch', () => {
  it('a write fails fast with the 25006 itself after a bounded number of fresh connections, each evicted', async () => {
    const pool = createPgPool({
      connectionString: server.url,
      max: 4,
      deadlineMs: 30_000,
      logger: new CaptureLogger(),
    });
    const evictions: PgEvictionEvent[] = [];
    pool.on('evict', (e) => evictions.push(e));
    try {
      await pool.query('SELECT 1');
      await becomeReadOnly();
      const startedAt = performance.now();
      const error = await pool.query('INSERT INTO writes VALUES (1)').catch((e: unknown) => e);
      const elapsedMs = performance.now() - startedAt;
      expect(error).toMatchObject({ code: '25006' });
      expect(attemptsOf(error)).toBe(3);
      // Never spins on the same connection until the deadline (30 s): a few fresh connects only.
      expect(elapsedMs).toBeLessThan(15_000);
      // Three distinct sessions answered 25006, and each was evicted (pg-pool reports removals once closed).
      expect(
        await eventually(() => evictions.filter((e) => e.reason === 'read_only').length === 3, 2_000),
      ).toBe(true);
      expect(new Set(evictions.filter((e) => e.reason === 'read_only').map((e) => e.processId)).size).toBe(3);

      // The failover completes: the very next write lands on a fresh, writable connection.
      await becomeWritable();
      await pool.query('INSERT INTO writes VALUES (2)');
      expect(await count(1)).toBe(0);
      expect(await count(2)).toBe(1);
    } finally {
      await becomeWritable();
      await pool.drain(2_000);
    }
  });

  it('control: a naive retry on a held pg client spins on the same read-only session', async () => {
    const raw = new pg.Pool({ connectionString: server.url, max: 1 });
    raw.on('error', () => {});
    try {
      await raw.query('SELECT 1');
      await becomeReadOnly();
      // The first query after the termination meets the dead session; the next gets a read-only one.
      await raw.query('SELECT 1').catch(() => {});
      const client = await raw.connect();
      const pids = new Set<number>();
      const codes: string[] = [];
      try {
        // 25006 classified "nothing ran, retry": without eviction every retry meets the same session.
        for (let attempt = 0; attempt < 5; attempt++) {
          const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
          pids.add(rows[0]?.pid as number);
          codes.push(
            await client.query('INSERT INTO writes VALUES (3)').then(
              () => 'ok',
              (e: { code: string }) => e.code,
            ),
          );
        }
      } finally {
        client.release();
      }
      expect(codes).toEqual(Array(5).fill('25006'));
      expect(pids.size).toBe(1);
    } finally {
      await becomeWritable();
      await raw.end();
    }
  });

  it('writes under load through the switch: each id applied at most once, every failure reported to its caller', async () => {
    const pool = createPgPool({
      connectionString: server.url,
      max: 4,
      deadlineMs: 10_000,
      logger: new CaptureLogger(),
    });
    const readOnlyEvictions: PgEvictionEvent[] = [];
    pool.on('evict', (e) => {
      if (e.reason === 'read_only') readOnlyEvictions.push(e);
    });
    try {
      await pool.query('SELECT 1');
      const outcomes = new Map<number, 'ok' | 'error'>();
      let next = 1000;
      const inFlight: Promise<void>[] = [];
      const writer = async (until: number) => {
        while (performance.now() < until) {
          const id = next++;
          const p = pool.query('INSERT INTO writes VALUES ($1)', [id]).then(
            () => void outcomes.set(id, 'ok'),
            () => void outcomes.set(id, 'error'),
          );
          inFlight.push(p);
          await new Promise((r) => setTimeout(r, 5));
        }
      };
      const until = performance.now() + 3_000;
      const load = writer(until);
      await new Promise((r) => setTimeout(r, 500));
      await becomeReadOnly();
      await new Promise((r) => setTimeout(r, 700));
      await becomeWritable();
      await load;
      await Promise.all(inFlight);

      const rows = await server.sql<{ id: number }>('SELECT id FROM writes WHERE id >= 1000');
      const applied = new Set(rows.map((r) => r.id));
      expect(applied.size).toBe(rows.length);
      const failed = [...outcomes].filter(([, o]) => o === 'error').map(([id]) => id);
      const succeeded = [...outcomes].filter(([, o]) => o === 'ok').map(([id]) => id);
      // Each id the caller was told succeeded is there once; each reported failure is absent.
      expect(succeeded.every((id) => applied.has(id))).toBe(true);
      expect(failed.filter((id) => applied.has(id))).toEqual([]);
      expect(applied.size).toBe(succeeded.length);
      // The switch really hit the load (writes met read-only sessions, which were evicted); whether
      // some ran out of fresh connections inside the 700 ms window depends on the machine's speed.
      expect(readOnlyEvictions.length).toBeGreaterThan(0);
      // Writes succeeded again after it.
      expect(Math.max(...succeeded)).toBeGreaterThan(Math.max(0, ...failed));
    } finally {
      await becomeWritable();
      await pool.drain(2_000);
    }
  });

  it('inside a transaction the caller opened READ ONLY, 25006 is final at once and the connection is kept', async () => {
    const pool = createPgPool({ connectionString: server.url, max: 1, logger: new CaptureLogger() });
    const evictions: PgEvictionEvent[] = [];
    pool.on('evict', (e) => evictions.push(e));
    try {
      const error = await pool
        .transaction((c) => c.query('INSERT INTO writes VALUES (4)'), { readOnly: true, idempotent: true })
        .catch((e: unknown) => e);
      expect(error).toMatchObject({ code: '25006' });
      expect(attemptsOf(error)).toBe(1);
      expect(evictions).toEqual([]);
      expect(pool.pool.totalCount).toBe(1);
    } finally {
      await pool.drain(2_000);
    }
  });
});
