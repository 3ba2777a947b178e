import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enqueueJob, IdempotencyKeyReusedError, QUEUE_TASK, readEvents } from '../src/index.ts';
import { inTransaction, startDatabase } from './setup.ts';

describe('enqueueJob', () => {
  let db: Awaited<ReturnType<typeof startDatabase>>;
  beforeAll(async () => {
    db = await startDatabase();
  });
  afterAll(async () => {
    await db?.close();
  });

  it('commits the job, its queued event (seq 1) and its graphile-worker entry together', async () => {
    const { job, created } = await inTransaction(db.pool, (c) =>
      enqueueJob(c, { owner: 'alice', type: 'demo.sleep', payload: { ms: 10, steps: 2 } }),
    );
    expect(created).toBe(true);
    expect(job).toMatchObject({ owner: 'alice', type: 'demo.sleep', status: 'queued', lastSeq: 1 });
    expect(await readEvents(db.pool, job.id)).toMatchObject([{ jobId: job.id, seq: 1, type: 'queued' }]);
    const { rows } = await db.pool.query(
      `SELECT t.identifier AS task_identifier, j.payload, j.key
       FROM graphile_worker._private_jobs j JOIN graphile_worker._private_tasks t ON t.id = j.task_id WHERE j.key = $1`,
      [job.id],
    );
    expect(rows).toEqual([
      { task_identifier: QUEUE_TASK, payload: { jobId: job.id, type: 'demo.sleep' }, key: job.id },
    ]);
  });

  it('leaves nothing behind when the surrounding transaction rolls back', async () => {
    let id = '';
    await expect(
      inTransaction(db.pool, async (c) => {
        id = (await enqueueJob(c, { owner: 'alice', type: 'demo.sleep', payload: {} })).job.id;
        throw new Error('the caller failed after enqueueing');
      }),
    ).rejects.toThrow('the caller failed');
    const counts = await db.pool.query(
      `SELECT (SELECT count(*) FROM tether_jobs WHERE id = $1)::int AS jobs,
              (SELECT count(*) FROM tether_job_events WHERE job_id = $1)::int AS events,
              (SELECT count(*) FROM graphile_worker.jobs WHERE key = $1::text)::int AS queued`,
      [id],
    );
    expect(counts.rows[0]).toEqual({ jobs: 0, events: 0, queued: 0 });
  });

  it('makes exactly one job for 20 concurrent requests with one key; another body with it is refused', async () => {
    const results = await Promise.all(
      Array.from({ length: 20 }, () =>
        inTransaction(db.pool, (c) =>
          enqueueJob(c, {
            owner: 'bob',
            type: 'demo.sleep',
            payload: { ms: 1, steps: 1 },
            idempotencyKey: 'k-20',
          }),
        ),
      ),
    );
    expect(new Set(results.map((r) => r.job.id)).size).toBe(1);
    expect(results.filter((r) => r.created)).toHaveLength(1);
    const { rows } = await db.pool.query(
      `SELECT count(*)::int AS n FROM tether_jobs WHERE owner = 'bob' AND idempotency_key = 'k-20'`,
    );
    expect(rows[0].n).toBe(1);
    const queued = await db.pool.query('SELECT count(*)::int AS n FROM graphile_worker.jobs WHERE key = $1', [
      results[0]!.job.id,
    ]);
    expect(queued.rows[0].n).toBe(1);

    // Key order does not make a different request.
    const replay = await inTransaction(db.pool, (c) =>
      enqueueJob(c, {
        owner: 'bob',
        type: 'demo.sleep',
        payload: { steps: 1, ms: 1 },
        idempotencyKey: 'k-20',
      }),
    );
    expect(replay).toMatchObject({ created: false, job: { id: results[0]!.job.id } });
    await expect(
      inTransaction(db.pool, (c) =>
        enqueueJob(c, {
          owner: 'bob',
          type: 'demo.sleep',
          payload: { ms: 2, steps: 1 },
          idempotencyKey: 'k-20',
        }),
      ),
    ).rejects.toBeInstanceOf(IdempotencyKeyReusedError);
    // Keys are per owner.
    const other = await inTransaction(db.pool, (c) =>
      enqueueJob(c, {
        owner: 'carol',
        type: 'demo.sleep',
        payload: { ms: 2, steps: 1 },
        idempotencyKey: 'k-20',
      }),
    );
    expect(other.created).toBe(true);
  });

  it('gives an expired key to a new job', async () => {
    const first = await inTransaction(db.pool, (c) =>
      enqueueJob(c, {
        owner: 'dan',
        type: 'demo.fail',
        payload: {},
        idempotencyKey: 'k-exp',
        idempotencyTtlMs: 1,
      }),
    );
    await new Promise((r) => setTimeout(r, 20));
    const second = await inTransaction(db.pool, (c) =>
      enqueueJob(c, { owner: 'dan', type: 'demo.fail', payload: { other: 1 }, idempotencyKey: 'k-exp' }),
    );
    expect(second.created).toBe(true);
    expect(second.job.id).not.toBe(first.job.id);
    expect(second.job.idempotencyExpiresAt!.getTime() - second.job.createdAt.getTime()).toBe(
      24 * 3600 * 1000,
    );
  });

  it('names the wrong field', async () => {
    await expect(
      inTransaction(db.pool, (c) => enqueueJob(c, { owner: '', type: 't', payload: {} })),
    ).rejects.toThrow(/^owner:/);
    await expect(
      inTransaction(db.pool, (c) =>
        enqueueJob(c, { owner: 'a', type: 't', payload: [] as unknown as Record<string, unknown> }),
      ),
    ).rejects.toThrow(/^payload:/);
  });
});
