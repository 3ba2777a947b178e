import { setTimeout as sleep } from 'node:timers/promises';
import { DataPointType, type MetricData } from '@opentelemetry/sdk-metrics';
import { EphemeralPostgres } from '@tether/devstack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CommitOutcomeUnknownError,
  createPgPool,
  PgBouncerUnsupportedError,
  type PgEvictionEvent,
} from '../src/index.ts';
import { CaptureLogger } from './capture-logger.ts';
import { eventually } from './load.ts';
import { createHarness, type Harness } from './otel-harness.ts';

let server: EphemeralPostgres;
let h: Harness;

beforeAll(async () => {
  server = await EphemeralPostgres.start();
  h = createHarness();
  await server.sql('CREATE TABLE ledger (id serial PRIMARY KEY, amount int NOT NULL)', []);
  await server.sql('ALTER TABLE ledger OWNER TO tether');
});

afterAll(async () => {
  await h?.close();
  await server?.close();
});

async function metric(name: string): Promise<MetricData | undefined> {
  const { resourceMetrics } = await h.collect();
  return resourceMetrics.scopeMetrics.flatMap((s) => s.metrics).find((m) => m.descriptor.name === name);
}

describe('createPgPool helpers', () => {
  it('rolls back when the callback throws and keeps the connection', async () => {
    const pool = createPgPool({ connectionString: server.url, max: 1, logger: new CaptureLogger() });
    try {
      await expect(
        pool.transaction(async (client) => {
          await client.query('INSERT INTO ledger (amount) VALUES (100)');
          throw new Error('business rule says no');
        }),
      ).rejects.toThrow('business rule says no');
      const { rows } = await pool.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM ledger WHERE amount = 100',
      );
      expect(rows[0]?.n).toBe(0);
      expect(pool.pool.totalCount).toBe(1);
    } finally {
      await pool.drain(2_000);
    }
  });

  it('reports a connection lost during COMMIT as CommitOutcomeUnknownError and does not retry it', async () => {
    await server.sql(
      `CREATE OR REPLACE FUNCTION slow_commit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(1); RETURN NULL; END $$`,
    );
    await server.sql('CREATE TABLE IF NOT EXISTS audited (id int)');
    await server.sql('ALTER TABLE audited OWNER TO tether');
    await server.sql(
      'CREATE CONSTRAINT TRIGGER slow AFTER INSERT ON audited DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION slow_commit()',
    );
    const pool = createPgPool({ connectionString: server.url, max: 1, logger: new CaptureLogger() });
    let runs = 0;
    try {
      const outcome = pool
        .transaction(
          async (client) => {
            runs++;
            await client.query('INSERT INTO audited VALUES (1)');
          },
          { idempotent: true },
        )
        .catch((e: unknown) => e);
      // The deferred trigger makes COMMIT take a second: kill the session in the middle of it.
      await sleep(400);
      expect(await server.terminateBackends(`query = 'COMMIT'`)).toBe(1);
      const error = await outcome;
      expect(error).toBeInstanceOf(CommitOutcomeUnknownError);
      expect(error).toMatchObject({ code: 'TETHER_PG_COMMIT_OUTCOME_UNKNOWN', retryable: false });
      expect(runs).toBe(1);
    } finally {
      await pool.drain(2_000);
    }
  });

  it('closes a connection handed back with a transaction still open', async () => {
    const pool = createPgPool({ connectionString: server.url, max: 1, logger: new CaptureLogger() });
    const evictions: PgEvictionEvent[] = [];
    pool.on('evict', (e) => evictions.push(e));
    try {
      await pool.withClient(async (client) => {
        await client.query('BEGIN');
        await client.query('INSERT INTO ledger (amount) VALUES (7)');
      });
      await expect(
        pool.query<{ n: number }>('SELECT count(*)::int AS n FROM ledger WHERE amount = 7'),
      ).resolves.toMatchObject({ rows: [{ n: 0 }] });
      expect(evictions.map((e) => e.reason)).toEqual(['left_in_transaction']);
    } finally {
      await pool.drain(2_000);
    }
  });

  it('PgBouncer mode: timeouts per transaction with SET LOCAL, named statements refused', async () => {
    const pool = createPgPool({
      connectionString: server.url,
      pgbouncer: true,
      statementTimeoutMs: 1234,
      logger: new CaptureLogger(),
    });
    try {
      const inside = await pool.transaction(
        async (client) =>
          (await client.query<{ statement_timeout: string }>('SHOW statement_timeout')).rows[0],
      );
      expect(inside?.statement_timeout).toBe('1234ms');
      // No startup parameters: the session itself keeps the server default.
      const outside = await pool.query<{ statement_timeout: string }>('SHOW statement_timeout');
      expect(outside.rows[0]?.statement_timeout).toBe('0');
      await expect(pool.query({ name: 'by-id', text: 'SELECT $1::int', values: [1] })).rejects.toBeInstanceOf(
        PgBouncerUnsupportedError,
      );
    } finally {
      await pool.drain(2_000);
    }
  });

  it('sets statement_timeout, idle_in_transaction_session_timeout and application_name on the session', async () => {
    const pool = createPgPool({
      connectionString: server.url,
      applicationName: 'orders-api',
      logger: new CaptureLogger(),
    });
    try {
      const { rows } = await pool.query<{ st: string; iit: string; app: string }>(
        "SELECT current_setting('statement_timeout') AS st, current_setting('idle_in_transaction_session_timeout') AS iit, current_setting('application_name') AS app",
      );
      expect(rows[0]).toEqual({ st: '10s', iit: '30s', app: 'orders-api' });
      // The server, not the client, cancels a runaway statement: 57014, and the connection stays.
      const short = createPgPool({
        connectionString: server.url,
        statementTimeoutMs: 200,
        logger: new CaptureLogger(),
      });
      try {
        await expect(short.query('SELECT pg_sleep(1)')).rejects.toMatchObject({ code: '57014' });
        expect(short.pool.totalCount).toBe(1);
      } finally {
        await short.drain(2_000);
      }
    } finally {
      await pool.drain(2_000);
    }
  });

  it('never lets a hung statement outlive its deadline, on the fast path or through the policy', async () => {
    const pool = createPgPool({
      connectionString: server.url,
      connectTimeoutMs: 500,
      validationTimeoutMs: 200,
      logger: new CaptureLogger(),
    });
    const evictions: PgEvictionEvent[] = [];
    pool.on('evict', (e) => evictions.push(e));
    try {
      await pool.ping();
      for (const hang of [
        () => pool.query('SELECT pg_sleep(5)', undefined, { deadlineMs: 1_000 }),
        () => pool.withClient((c) => c.query('SELECT pg_sleep(5)'), { deadlineMs: 1_000 }),
      ]) {
        const startedAt = performance.now();
        const error = await hang().catch((e: unknown) => e);
        const elapsed = performance.now() - startedAt;
        expect(error).toMatchObject({ code: 'TETHER_DEADLINE_EXCEEDED' });
        expect(elapsed).toBeGreaterThanOrEqual(990);
        expect(elapsed).toBeLessThan(1_500);
      }
      // Both connections were closed (the statement may still run on them), not handed to the next caller.
      expect(await eventually(() => evictions.length === 2, 2_000)).toBe(true);
      expect(evictions.map((e) => e.reason).sort()).toEqual(['aborted', 'fatal_error']);
      await expect(pool.query<{ x: number }>('SELECT 1 AS x')).resolves.toMatchObject({ rows: [{ x: 1 }] });
    } finally {
      await pool.drain(2_000);
    }
  });

  it('exports db.client.connection.* metrics and evictions by reason', async () => {
    const pool = createPgPool({
      connectionString: server.url,
      name: 'metrics-pool',
      max: 2,
      connectTimeoutMs: 500,
      deadlineMs: 10_000,
      meter: h.meter,
      logger: new CaptureLogger(),
    });
    try {
      await Promise.all([pool.query('SELECT pg_sleep(0.05)'), pool.query('SELECT pg_sleep(0.05)')]);
      const poolPoints = async (name: string) =>
        Object.fromEntries(
          ((await metric(name))?.dataPoints ?? [])
            .filter((p) => p.attributes['db.client.connection.pool.name'] === 'metrics-pool')
            .map((p) => [String(p.attributes['db.client.connection.state'] ?? 'value'), p.value]),
        );
      expect(await poolPoints('db.client.connection.count')).toEqual({ idle: 2, used: 0 });
      // Both connections busy for a while: a third caller waits, then times out waiting for one.
      const busy = Promise.all([pool.query('SELECT pg_sleep(2)'), pool.query('SELECT pg_sleep(2)')]);
      await sleep(50);
      const waiting = pool.query('SELECT 1', undefined, { deadlineMs: 1_200 }).catch((e: unknown) => e);
      await sleep(300);
      expect(await poolPoints('db.client.connection.count')).toEqual({ idle: 0, used: 2 });
      expect(await poolPoints('db.client.connection.pending_requests')).toEqual({ value: 1 });
      expect(await waiting).toMatchObject({ code: 'TETHER_DEADLINE_EXCEEDED' });
      await busy;
      await server.terminateBackends();
      await sleep(200);
      expect(await poolPoints('db.client.connection.count')).toEqual({ idle: 0, used: 0 });

      const attrs = { 'db.client.connection.pool.name': 'metrics-pool', 'db.system.name': 'postgresql' };
      expect(await poolPoints('db.client.connection.max')).toEqual({ value: 2 });
      for (const name of [
        'db.client.connection.wait_time',
        'db.client.connection.create_time',
        'db.client.connection.use_time',
      ]) {
        const m = await metric(name);
        expect(m?.dataPointType, name).toBe(DataPointType.HISTOGRAM);
        expect(m?.descriptor.unit).toBe('s');
        const point = m?.dataPoints.find(
          (p) => p.attributes['db.client.connection.pool.name'] === 'metrics-pool',
        );
        // Two connections were created; every completed query recorded a wait and a use.
        expect((point?.value as { count: number } | undefined)?.count, name).toBeGreaterThanOrEqual(2);
      }
      const timeouts = await metric('db.client.connection.timeouts');
      expect(
        timeouts?.dataPoints.find((p) => p.attributes['db.client.connection.pool.name'] === 'metrics-pool')
          ?.value,
      ).toBeGreaterThanOrEqual(1);
      const evictions = await metric('tether.db.client.connection.evictions');
      const idleErrors = evictions?.dataPoints.find(
        (p) =>
          p.attributes['tether.eviction.reason'] === 'idle_error' &&
          p.attributes['db.client.connection.pool.name'] === attrs['db.client.connection.pool.name'],
      );
      expect(idleErrors?.value).toBe(2);
    } finally {
      await pool.drain(2_000);
    }
  });
});
