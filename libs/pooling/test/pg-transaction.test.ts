import { randomUUID } from 'node:crypto';
import { EphemeralPostgres } from '@tether/devstack';
import { attemptsOf, createRetryPolicy } from '@tether/retry';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CommitOutcomeUnknownError, createPgPool, TransactionRolledBackError } from '../src/index.ts';
import { CaptureLogger } from './capture-logger.ts';
import { eventually } from './load.ts';

let server: EphemeralPostgres;

beforeAll(async () => {
  server = await EphemeralPostgres.start();
  await server.sql('CREATE TABLE items (id int PRIMARY KEY)');
  await server.sql('ALTER TABLE items OWNER TO tether');
});
afterAll(async () => {
  await server?.close();
});
beforeEach(async () => {
  await server.sql('TRUNCATE items');
});

async function ids(): Promise<number[]> {
  const rows = await server.sql<{ id: number }>('SELECT id FROM items ORDER BY id');
  return rows.map((r) => r.id);
}

/** Terminates the backend a callback runs on and waits until the client noticed (its socket is gone). */
async function killSession(pid: number, logger: CaptureLogger): Promise<void> {
  expect(await server.terminateBackends(`pid = ${pid}`)).toBe(1);
  expect(await eventually(() => logger.text.includes('a connection in use failed'), 5_000)).toBe(true);
}

const pidOf = async (c: { query: pg.PoolClient['query'] }) =>
  (await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid as number;

describe('COMMIT is checked', () => {
  it('a transaction whose statement failed (caught by the callback) rejects with TransactionRolledBackError, cause = the 23505', async () => {
    const pool = createPgPool({ connectionString: server.url, max: 2, logger: new CaptureLogger() });
    try {
      const error = await pool
        .transaction(async (c) => {
          await c.query('INSERT INTO items VALUES (1)');
          try {
            await c.query('INSERT INTO items VALUES (1)');
          } catch {
            // "the caller handles the conflict"
          }
          return 'resolved';
        })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TransactionRolledBackError);
      expect(error).toMatchObject({ code: 'TETHER_PG_TRANSACTION_ROLLED_BACK', retryable: false });
      expect((error as Error).cause).toMatchObject({ code: '23505' });
      expect(await ids()).toEqual([]);
      // The connection is clean and reused.
      await expect(pool.query('SELECT 1')).resolves.toMatchObject({ rowCount: 1 });
      expect(pool.pool.totalCount).toBe(1);
    } finally {
      await pool.drain(2_000);
    }
  });

  it('control: a raw pg.Pool transaction resolves the same COMMIT, answered ROLLBACK, and the table is empty', async () => {
    const raw = new pg.Pool({ connectionString: server.url, max: 1 });
    const client = await raw.connect();
    try {
      await client.query('BEGIN');
      await client.query('INSERT INTO items VALUES (1)');
      await client.query('INSERT INTO items VALUES (1)').catch(() => {});
      const commit = await client.query('COMMIT');
      expect(commit.command).toBe('ROLLBACK');
      expect(await ids()).toEqual([]);
    } finally {
      client.release();
      await raw.end();
    }
  });

  it('a deadline reached during COMMIT is CommitOutcomeUnknownError, never a retryable deadline error', async () => {
    await server.sql(
      `CREATE OR REPLACE FUNCTION slow_commit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(1.5); RETURN NULL; END $$`,
    );
    await server.sql('CREATE TABLE IF NOT EXISTS audited (id int)');
    await server.sql('ALTER TABLE audited OWNER TO tether');
    await server.sql('DROP TRIGGER IF EXISTS slow ON audited');
    await server.sql(
      'CREATE CONSTRAINT TRIGGER slow AFTER INSERT ON audited DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION slow_commit()',
    );
    const pool = createPgPool({ connectionString: server.url, max: 1, logger: new CaptureLogger() });
    let runs = 0;
    try {
      const error = await pool
        .transaction(
          async (c) => {
            runs++;
            await c.query('INSERT INTO audited VALUES (1)');
          },
          { idempotent: true, deadlineMs: 1_000 },
        )
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CommitOutcomeUnknownError);
      expect((error as Error).cause).toMatchObject({ code: 'TETHER_DEADLINE_EXCEEDED' });
      expect(runs).toBe(1);
    } finally {
      await pool.drain(2_000);
    }
  });
});

describe('retry safety per attempt: a write is never applied twice', () => {
  it('withClient: INSERT a, the connection dies, INSERT b is refused -> the callback is not re-run, the caller gets the error', async () => {
    const logger = new CaptureLogger();
    const pool = createPgPool({ connectionString: server.url, max: 2, logger });
    let runs = 0;
    try {
      const error = await pool
        .withClient(async (c) => {
          runs++;
          await c.query('INSERT INTO items VALUES (10)');
          if (runs === 1) await killSession(await pidOf(c), logger);
          await c.query('INSERT INTO items VALUES (20)');
          await c.query('INSERT INTO items VALUES (21)');
        })
        .catch((e: unknown) => e);
      expect(runs).toBe(1);
      expect(error).toMatchObject({
        message: 'Client has encountered a connection error and is not queryable',
      });
      expect(attemptsOf(error)).toBe(1);
      expect(await ids()).toEqual([10]);
    } finally {
      await pool.drain(2_000);
    }
  });

  it('control: the same callback under a per-error retry rule runs twice and applies INSERT a twice', async () => {
    // What the pool did before: "not queryable" means nothing was sent, so the whole callback ran again.
    const logger = new CaptureLogger();
    const raw = new pg.Pool({ connectionString: server.url, max: 2 });
    raw.on('error', () => {});
    const policy = createRetryPolicy({ name: 'naive', initialDelayMs: 1, maxDelayMs: 5 });
    let runs = 0;
    try {
      await policy.execute(async () => {
        runs++;
        const c = await raw.connect();
        c.on('error', () => logger.warn({}, 'a connection in use failed'));
        try {
          await c.query('INSERT INTO items VALUES ($1)', [runs === 1 ? 10 : 20]);
          if (runs === 1) await killSession(await pidOf(c), logger);
          await c.query('INSERT INTO items VALUES ($1)', [runs === 1 ? 20 : 21]);
          c.release();
        } catch (error) {
          c.release(true);
          throw error;
        }
      });
      expect(runs).toBe(2);
      expect(await ids()).toEqual([10, 20, 21]);
    } finally {
      await raw.end();
    }
  });

  it('withClient flagged idempotent is re-run after the same failure (the caller vouched for it)', async () => {
    const logger = new CaptureLogger();
    const pool = createPgPool({ connectionString: server.url, max: 2, logger });
    let runs = 0;
    try {
      await pool.withClient(
        async (c) => {
          runs++;
          await c.query('INSERT INTO items VALUES (30) ON CONFLICT DO NOTHING');
          if (runs === 1) await killSession(await pidOf(c), logger);
          await c.query('INSERT INTO items VALUES (31) ON CONFLICT DO NOTHING');
        },
        { idempotent: true },
      );
      expect(runs).toBe(2);
      expect(await ids()).toEqual([30, 31]);
    } finally {
      await pool.drain(2_000);
    }
  });

  it('transaction with outside side effects: the server rolled back, but the callback is not re-run', async () => {
    const logger = new CaptureLogger();
    const pool = createPgPool({ connectionString: server.url, max: 2, logger });
    const emailsSent: string[] = [];
    try {
      const error = await pool
        .transaction(async (c) => {
          await c.query('INSERT INTO items VALUES (40)');
          emailsSent.push(randomUUID());
          if (emailsSent.length === 1) await killSession(await pidOf(c), logger);
          await c.query('INSERT INTO items VALUES (41)');
        })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(Error);
      expect(emailsSent).toHaveLength(1);
      expect(await ids()).toEqual([]);
    } finally {
      await pool.drain(2_000);
    }
  });

  it('transaction flagged free of outside side effects is run again, and each row lands exactly once', async () => {
    const logger = new CaptureLogger();
    const pool = createPgPool({ connectionString: server.url, max: 2, logger });
    let runs = 0;
    try {
      await pool.transaction(
        async (c) => {
          runs++;
          await c.query('INSERT INTO items VALUES (50)');
          if (runs === 1) await killSession(await pidOf(c), logger);
          await c.query('INSERT INTO items VALUES (51)');
        },
        { idempotent: true },
      );
      expect(runs).toBe(2);
      expect(await ids()).toEqual([50, 51]);
    } finally {
      await pool.drain(2_000);
    }
  });

  it('a serialization failure (40001) re-runs a transaction flagged side-effect free, and only that one', async () => {
    const pool = createPgPool({ connectionString: server.url, max: 4, logger: new CaptureLogger() });
    const race = async (flag: boolean) => {
      let runs = 0;
      // Both transactions read before either writes: one of them must fail with 40001.
      let arrived = 0;
      let bothRead: () => void = () => {};
      const barrier = new Promise<void>((resolve) => {
        bothRead = resolve;
      });
      const results = await Promise.allSettled(
        [60, 61].map((id) =>
          pool.transaction(
            async (c) => {
              runs++;
              await c.query('SELECT count(*) FROM items');
              if (++arrived === 2) bothRead();
              await Promise.race([barrier, new Promise((r) => setTimeout(r, 5_000))]);
              await c.query('INSERT INTO items VALUES ($1)', [id]);
            },
            { isolationLevel: 'serializable', idempotent: flag },
          ),
        ),
      );
      return { results, runs };
    };
    try {
      const flagged = await race(true);
      expect(flagged.results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled']);
      expect(flagged.runs).toBe(3);
      expect(await ids()).toEqual([60, 61]);

      await server.sql('TRUNCATE items');
      const unflagged = await race(false);
      const rejected = unflagged.results.filter((r) => r.status === 'rejected');
      expect(rejected).toHaveLength(1);
      // The caller gets Postgres' own error, unchanged.
      expect((rejected[0] as PromiseRejectedResult).reason).toMatchObject({ code: '40001' });
      expect(unflagged.runs).toBe(2);
      expect(await ids()).toHaveLength(1);
    } finally {
      await pool.drain(2_000);
    }
  });
});

describe('errors reach the caller as they are', () => {
  it('a 23505 on the second attempt (after the server came back) is the DatabaseError itself, with its attempt count', async () => {
    await server.sql('INSERT INTO items VALUES (70)');
    const pool = createPgPool({ connectionString: server.url, max: 1, logger: new CaptureLogger() });
    try {
      await server.stop();
      const outcome = pool.query('INSERT INTO items VALUES (70)').catch((e: unknown) => e);
      await new Promise((r) => setTimeout(r, 300));
      await server.start();
      const error = await outcome;
      expect(error).toBeInstanceOf(pg.DatabaseError);
      expect((error as { code: string }).code).toBe('23505');
      expect(attemptsOf(error)).toBeGreaterThanOrEqual(2);
    } finally {
      await pool.drain(2_000);
    }
  });
});
