import { setTimeout as sleep } from 'node:timers/promises';
import { EphemeralPgBouncer, EphemeralPostgres } from '@tether/devstack';
import { classify, classifyPgBouncer } from '@tether/retry';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgPool } from '../src/index.ts';
import { CaptureLogger } from './capture-logger.ts';
import { describeErrors, steadyLoad } from './load.ts';

let server: EphemeralPostgres;
let bouncer: EphemeralPgBouncer;

beforeAll(async () => {
  // Durable commits: the crash scenario checks that every acknowledged write survived.
  server = await EphemeralPostgres.start({ settings: { fsync: 'on', synchronous_commit: 'on' } });
  await server.sql('CREATE TABLE writes (id int PRIMARY KEY)');
  await server.sql('ALTER TABLE writes OWNER TO tether');
  bouncer = await EphemeralPgBouncer.start(server);
});
afterAll(async () => {
  await bouncer?.close();
  await server?.close();
});

/** kill -9 of Postgres, down for `downMs`, then started again: PgBouncer's server connections just vanish. */
async function crashAndRestart(downMs: number): Promise<void> {
  await server.kill();
  await sleep(downMs);
  await server.start();
}

describe('through a real PgBouncer (transaction pooling)', () => {
  it.each([
    ['a clean restart (57P01)', () => server.restart(1_000)],
    ['a crash (kill -9) and restart (PgBouncer 08P01)', () => crashAndRestart(1_000)],
  ])(
    '%s behind PgBouncer: reads see no error, writes are applied at most once and failures reported',
    async (_name, fault) => {
      const pool = createPgPool({
        connectionString: bouncer.url,
        pgbouncer: true,
        max: 10,
        deadlineMs: 15_000,
        logger: new CaptureLogger(),
      });
      try {
        await pool.ping();
        const reads = steadyLoad(() => pool.query('SELECT 1'), 100);
        let nextId = 1;
        const ok: number[] = [];
        const failed: unknown[] = [];
        const writes = steadyLoad(() => {
          const id = nextId++;
          return pool.query('INSERT INTO writes VALUES ($1)', [id]).then(
            () => void ok.push(id),
            (error: unknown) => void failed.push(error),
          );
        }, 50);
        await sleep(500);
        await fault();
        await sleep(2_000);
        const readResult = await reads.stop();
        await writes.stop();

        expect(readResult.errors, describeErrors(readResult.errors)).toHaveLength(0);
        expect(readResult.ok).toBeGreaterThan(150);
        const rows = await server.sql<{ id: number }>('SELECT id FROM writes');
        await server.sql('TRUNCATE writes');
        const applied = new Set(rows.map((r) => r.id));
        expect(ok.every((id) => applied.has(id))).toBe(true);
        expect(failed.filter((e) => (e as { code?: unknown }).code === '23505')).toEqual([]);
        expect(rows.length).toBeLessThanOrEqual(ok.length + failed.length);
        expect(ok.length).toBeGreaterThan(100);
      } finally {
        await pool.drain(5_000);
      }
    },
  );

  it('control: a raw pg.Pool through the same restart gets PgBouncer 08P01 errors, which plain classify() calls permanent', async () => {
    const raw = new pg.Pool({ connectionString: bouncer.url, max: 10 });
    raw.on('error', () => {});
    try {
      await raw.query('SELECT 1');
      const load = steadyLoad(() => raw.query('SELECT 1'), 100);
      await sleep(300);
      await crashAndRestart(1_000);
      await sleep(1_000);
      const result = await load.stop();
      const fromBouncer = result.errors.filter((e) => (e as { code?: unknown }).code === '08P01');
      expect(fromBouncer.length, describeErrors(result.errors)).toBeGreaterThan(0);
      for (const error of fromBouncer) {
        expect(classify(error).kind).toBe('permanent');
        expect(classifyPgBouncer(error)?.kind, (error as Error).message).toBe('transient');
      }
    } finally {
      await raw.end();
    }
  });
});
