import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enqueueJob, readEvents, reportProgress, transition } from '../src/index.ts';
import { inTransaction, startDatabase } from './setup.ts';

describe('transition', () => {
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

  it('runs a job through running, progress and succeeded, one event each, in order', async () => {
    const jobId = await newJob();
    const token = randomUUID();
    const started = await inTransaction(db.pool, (c) =>
      transition(
        c,
        jobId,
        'queued',
        'running',
        { worker: 'w1' },
        { lease: { owner: 'w1', token, ttlMs: 30_000 } },
      ),
    );
    expect(started).toMatchObject({
      ok: true,
      job: { status: 'running', attempts: 1, lastSeq: 2 },
      event: { seq: 2 },
    });
    expect(
      await inTransaction(db.pool, (c) => reportProgress(c, jobId, { step: 1 }, { leaseToken: token })),
    ).toMatchObject({ seq: 3, type: 'progress' });
    const done = await inTransaction(db.pool, (c) =>
      transition(c, jobId, 'running', 'succeeded', {}, { result: { ok: 1 }, leaseToken: token }),
    );
    expect(done).toMatchObject({
      ok: true,
      job: { status: 'succeeded', result: { ok: 1 }, progress: { step: 1 } },
    });
    if (done.ok) expect(done.job.finishedAt).toBeInstanceOf(Date);
    expect((await readEvents(db.pool, jobId)).map((e) => [e.seq, e.type])).toEqual([
      [1, 'queued'],
      [2, 'running'],
      [3, 'progress'],
      [4, 'succeeded'],
    ]);
    // Final: no second completion, no progress.
    expect(await inTransaction(db.pool, (c) => transition(c, jobId, 'running', 'failed'))).toEqual({
      ok: false,
      status: 'succeeded',
    });
    expect(await inTransaction(db.pool, (c) => reportProgress(c, jobId, { step: 2 }))).toBeNull();
  });

  it('fences a late completion from a worker whose lease was taken over', async () => {
    const jobId = await newJob();
    const oldToken = randomUUID();
    const newToken = randomUUID();
    const lease = (token: string) => ({ lease: { owner: 'w', token, ttlMs: 1000 } });
    await inTransaction(db.pool, (c) => transition(c, jobId, 'queued', 'running', {}, lease(oldToken)));
    await inTransaction(db.pool, (c) =>
      transition(c, jobId, 'running', 'running', { rescued: true }, lease(newToken)),
    );
    expect(
      await inTransaction(db.pool, (c) =>
        transition(c, jobId, 'running', 'succeeded', {}, { leaseToken: oldToken }),
      ),
    ).toEqual({ ok: false, status: 'running' });
    expect(
      await inTransaction(db.pool, (c) => reportProgress(c, jobId, { late: true }, { leaseToken: oldToken })),
    ).toBeNull();
    expect(
      await inTransaction(db.pool, (c) =>
        transition(c, jobId, 'running', 'succeeded', {}, { leaseToken: newToken }),
      ),
    ).toMatchObject({ ok: true, job: { attempts: 2 } });
  });

  it('lets exactly one of 10 racing transitions win', async () => {
    const jobId = await newJob();
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        inTransaction(db.pool, (c) => transition(c, jobId, 'queued', 'running', { i })),
      ),
    );
    expect(results.filter((r) => r.ok)).toHaveLength(1);
    expect((await readEvents(db.pool, jobId)).map((e) => e.type)).toEqual(['queued', 'running']);
  });

  it('reports a missing job and refuses unknown statuses', async () => {
    expect(await transition(db.pool, randomUUID(), 'queued', 'running')).toEqual({ ok: false, status: null });
    await expect(transition(db.pool, randomUUID(), 'queued', 'lost' as never)).rejects.toThrow(/^status:/);
  });

  it('a progress report re-sent with the same afterSeq (after an unknown COMMIT) is written once', async () => {
    const jobId = await newJob();
    const token = randomUUID();
    const claim = await inTransaction(db.pool, (c) =>
      transition(c, jobId, 'queued', 'running', {}, { lease: { owner: 'w1', token, ttlMs: 30_000 } }),
    );
    const afterSeq = claim.ok ? claim.event.seq : -1;
    const report = (data: Record<string, unknown>, after: number) =>
      inTransaction(db.pool, (c) => reportProgress(c, jobId, data, { leaseToken: token, afterSeq: after }));

    const first = await report({ step: 1 }, afterSeq);
    const resent = await report({ step: 1 }, afterSeq);
    expect(resent).toEqual(first);
    expect(await report({ step: 2 }, afterSeq)).toBeNull(); // not what landed at afterSeq + 1
    expect(await report({ step: 2 }, first!.seq)).toMatchObject({ seq: afterSeq + 2 });
    const progress = (await readEvents(db.pool, jobId)).filter((e) => e.type === 'progress');
    expect(progress.map((e) => e.data)).toEqual([{ step: 1 }, { step: 2 }]);

    // Control: the same re-send without afterSeq appends a second copy of the report.
    await inTransaction(db.pool, (c) => reportProgress(c, jobId, { step: 2 }, { leaseToken: token }));
    const after = (await readEvents(db.pool, jobId)).filter((e) => e.type === 'progress');
    expect(after.map((e) => e.data)).toEqual([{ step: 1 }, { step: 2 }, { step: 2 }]);
  });
});
