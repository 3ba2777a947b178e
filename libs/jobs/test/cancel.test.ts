import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CANCEL_CHANNEL, cancelJob, enqueueJob, readEvents, transition } from '../src/index.ts';
import { inTransaction, startDatabase } from './setup.ts';

describe('cancelJob', () => {
  let db: Awaited<ReturnType<typeof startDatabase>>;
  beforeAll(async () => {
    db = await startDatabase();
  });
  afterAll(async () => {
    await db?.close();
  });

  const newJob = (owner = 'alice') =>
    inTransaction(db.pool, (c) => enqueueJob(c, { owner, type: 'demo.sleep', payload: {} })).then(
      (r) => r.job.id,
    );
  const queueEntries = async (jobId: string) =>
    (
      await db.pool.query('SELECT count(*)::int AS n FROM graphile_worker._private_jobs WHERE key = $1', [
        jobId,
      ])
    ).rows[0].n as number;

  it('cancels a queued job at once and removes its queue entry', async () => {
    const jobId = await newJob();
    expect(await queueEntries(jobId)).toBe(1);
    const result = await inTransaction(db.pool, (c) => cancelJob(c, jobId, 'alice'));
    expect(result).toMatchObject({ outcome: 'cancelled', job: { status: 'cancelled' } });
    expect(await queueEntries(jobId)).toBe(0);
    expect((await readEvents(db.pool, jobId)).map((e) => e.type)).toEqual(['queued', 'cancelled']);
  });

  it('asks the worker to abort a running job: sets cancel_requested_at and notifies', async () => {
    const jobId = await newJob();
    await inTransaction(db.pool, (c) => transition(c, jobId, 'queued', 'running'));
    const listener = new pg.Client({ connectionString: db.server.url });
    await listener.connect();
    try {
      const notified = new Promise<string | undefined>((resolve) =>
        listener.on('notification', (n) => resolve(n.payload)),
      );
      await listener.query(`LISTEN ${CANCEL_CHANNEL}`);
      const result = await inTransaction(db.pool, (c) => cancelJob(c, jobId, 'alice'));
      expect(result).toMatchObject({ outcome: 'cancel_requested', job: { status: 'running' } });
      if (result.outcome === 'cancel_requested') expect(result.job.cancelRequestedAt).toBeInstanceOf(Date);
      expect(await notified).toBe(jobId);
    } finally {
      await listener.end();
    }
  });

  it('leaves a finished job alone and hides other owners\u2019 jobs', async () => {
    const jobId = await newJob();
    await inTransaction(db.pool, (c) => transition(c, jobId, 'queued', 'running'));
    await inTransaction(db.pool, (c) => transition(c, jobId, 'running', 'succeeded'));
    expect(await inTransaction(db.pool, (c) => cancelJob(c, jobId, 'alice'))).toMatchObject({
      outcome: 'finished',
      job: { status: 'succeeded' },
    });
    expect(await inTransaction(db.pool, (c) => cancelJob(c, jobId, 'mallory'))).toEqual({
      outcome: 'not_found',
    });
    expect(await inTransaction(db.pool, (c) => cancelJob(c, randomUUID(), 'alice'))).toEqual({
      outcome: 'not_found',
    });
  });
});
