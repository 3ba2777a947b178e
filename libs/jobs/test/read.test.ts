import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enqueueJob, getJob, InvalidCursorError, listJobs, transition } from '../src/index.ts';
import { inTransaction, startDatabase } from './setup.ts';

describe('getJob and listJobs', () => {
  let db: Awaited<ReturnType<typeof startDatabase>>;
  beforeAll(async () => {
    db = await startDatabase();
  });
  afterAll(async () => {
    await db?.close();
  });

  const newJob = (owner: string) =>
    inTransaction(db.pool, (c) => enqueueJob(c, { owner, type: 'demo.sleep', payload: {} })).then(
      (r) => r.job.id,
    );

  it('reads a job only for its owner, and treats a malformed id as missing', async () => {
    const id = await newJob('alice');
    expect(await getJob(db.pool, id, 'alice')).toMatchObject({ id, owner: 'alice' });
    expect(await getJob(db.pool, id, 'bob')).toBeNull();
    expect(await getJob(db.pool, 'not-a-uuid', 'alice')).toBeNull();
  });

  it('pages newest first without repeats or gaps while new jobs arrive, and filters by status', async () => {
    const owner = 'pager';
    const created: string[] = [];
    for (let i = 0; i < 7; i++) created.push(await newJob(owner));
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await listJobs(db.pool, { owner, limit: 3, ...(cursor ? { cursor } : {}) });
      seen.push(...page.jobs.map((j) => j.id));
      await newJob(owner); // arrives mid-listing: sorts before every cursor, so it must not disturb the rest
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    expect(seen).toEqual([...created].reverse());

    await inTransaction(db.pool, (c) => transition(c, created[0]!, 'queued', 'cancelled'));
    const cancelled = await listJobs(db.pool, { owner, status: 'cancelled' });
    expect(cancelled.jobs.map((j) => j.id)).toEqual([created[0]]);
    expect(cancelled.nextCursor).toBeNull();
  });

  it('refuses cursors it did not make', async () => {
    for (const cursor of ['', 'not base64!', Buffer.from('1.2.3').toString('base64url'), 'AAAA']) {
      await expect(listJobs(db.pool, { owner: 'x', cursor })).rejects.toBeInstanceOf(InvalidCursorError);
    }
    await expect(listJobs(db.pool, { owner: 'x', limit: 0 })).rejects.toThrow(/^limit:/);
  });
});
