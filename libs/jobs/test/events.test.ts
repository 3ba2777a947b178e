import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendEvent, enqueueJob, readEvents } from '../src/index.ts';
import { inTransaction, startDatabase } from './setup.ts';

describe('the event log', () => {
  let db: Awaited<ReturnType<typeof startDatabase>>;
  beforeAll(async () => {
    db = await startDatabase();
  });
  afterAll(async () => {
    await db?.close();
  });

  const newJob = () =>
    inTransaction(db.pool, (c) => enqueueJob(c, { owner: 'alice', type: 'demo.sleep', payload: {} })).then(
      (r) => r.job.id,
    );

  it('control: a global bigserial id commits out of order, so a reader resuming after the last id it saw skips one', async () => {
    const jobId = await newJob();
    const early = await db.pool.connect();
    const late = await db.pool.connect();
    try {
      await early.query('BEGIN');
      await early.query(`INSERT INTO tether_job_events (job_id, seq, type) VALUES ($1, 100, 'progress')`, [
        jobId,
      ]);
      await late.query('BEGIN');
      await late.query(`INSERT INTO tether_job_events (job_id, seq, type) VALUES ($1, 101, 'progress')`, [
        jobId,
      ]);
      await late.query('COMMIT');
      const seen = await db.pool.query('SELECT max(id) AS id FROM tether_job_events WHERE job_id = $1', [
        jobId,
      ]);
      await early.query('COMMIT');
      const resumed = await db.pool.query('SELECT seq FROM tether_job_events WHERE job_id = $1 AND id > $2', [
        jobId,
        seen.rows[0].id,
      ]);
      expect(resumed.rows).toEqual([]); // the event with seq 100 committed, yet the resumed reader never sees it
    } finally {
      early.release();
      late.release();
    }
  });

  it('allocates seq under the job-row lock: a second writer waits for the first to commit, nothing is skipped', async () => {
    const jobId = await newJob();
    const first = await db.pool.connect();
    const second = await db.pool.connect();
    try {
      await first.query('BEGIN');
      expect((await appendEvent(first, jobId, 'progress', { n: 1 })).seq).toBe(2);
      await second.query('BEGIN');
      let secondDone = false;
      const secondEvent = appendEvent(second, jobId, 'progress', { n: 2 }).then((e) => {
        secondDone = true;
        return e;
      });
      await new Promise((r) => setTimeout(r, 300));
      expect(secondDone).toBe(false);
      const seenBefore = await readEvents(db.pool, jobId);
      expect(seenBefore.map((e) => e.seq)).toEqual([1]);
      await first.query('COMMIT');
      expect((await secondEvent).seq).toBe(3);
      await second.query('COMMIT');
      expect((await readEvents(db.pool, jobId, 1)).map((e) => [e.seq, e.data])).toEqual([
        [2, { n: 1 }],
        [3, { n: 2 }],
      ]);
    } finally {
      first.release();
      second.release();
    }
  });

  it('stays gap-free under 40 concurrent writers, some of which roll back', async () => {
    const jobId = await newJob();
    const outcomes = await Promise.allSettled(
      Array.from({ length: 40 }, (_, i) =>
        inTransaction(db.pool, async (c) => {
          await appendEvent(c, jobId, 'progress', { i });
          if (i % 5 === 0) throw new Error('rolled back');
        }),
      ),
    );
    expect(outcomes.filter((o) => o.status === 'rejected')).toHaveLength(8);
    const events = await readEvents(db.pool, jobId);
    expect(events.map((e) => e.seq)).toEqual(Array.from({ length: 33 }, (_, i) => i + 1));
    expect(new Set(events.slice(1).map((e) => (e.data as { i: number }).i)).size).toBe(32);
    const { rows } = await db.pool.query('SELECT last_seq FROM tether_jobs WHERE id = $1', [jobId]);
    expect(rows[0].last_seq).toBe(33);
  });

  it('pages with after and limit, and refuses a bad after', async () => {
    const jobId = await newJob();
    for (let i = 0; i < 5; i++) await inTransaction(db.pool, (c) => appendEvent(c, jobId, 'progress', { i }));
    expect((await readEvents(db.pool, jobId, 2, 2)).map((e) => e.seq)).toEqual([3, 4]);
    expect(await readEvents(db.pool, jobId, 6)).toEqual([]);
    await expect(readEvents(db.pool, jobId, -1)).rejects.toThrow(/^after:/);
    await expect(
      appendEvent(db.pool, '00000000-0000-4000-8000-000000000000', 'progress'),
    ).rejects.toMatchObject({
      code: 'TETHER_JOBS_NOT_FOUND',
    });
  });
});
