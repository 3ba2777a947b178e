import { QUEUE_TASK, transition } from '@tether/jobs';
import { createPgPool, type TetherPgPool } from '@tether/pooling';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sweep } from '../src/sweeper.ts';
import { type Servers, startServers } from './support.ts';

/**
 * The queue half of dead-worker recovery, step by step on real Postgres and graphile-worker's own
 * schema: a worker pool takes two entries the way graphile-worker does (locked_by = the pool id), one
 * run's lease expires, the sweeper runs, then the cut-off run returns and graphile-worker completes its
 * entry with its real statement (a DELETE by entry id).
 */
const TTL_MS = 1_000;
const POOL = 'worker-pool-a';

interface Entry {
  id: string;
  locked_by: string | null;
  attempts: number;
  max_attempts: number;
}

describe('sweeper: a requeued job keeps a runnable queue entry', () => {
  let s: Servers;
  let db: TetherPgPool;
  beforeAll(async () => {
    s = await startServers();
    db = createPgPool({ connectionString: s.server.url, max: 4 });
  }, 120_000);
  afterAll(async () => {
    await db?.drain();
    await s?.close();
  });

  const entries = async (jobId: string) =>
    (
      await s.pool.query<Entry>(
        `SELECT id::text, locked_by, attempts, max_attempts FROM graphile_worker.jobs
          WHERE key = $1 AND task_identifier = $2`,
        [jobId, QUEUE_TASK],
      )
    ).rows;

  /** graphile-worker's batchGetJobs, reduced to one entry: lock it for the pool, count an attempt. */
  async function take(jobId: string): Promise<string> {
    const { rows } = await s.pool.query<{ id: string }>(
      `UPDATE graphile_worker._private_jobs SET locked_by = $2, locked_at = now(), attempts = attempts + 1
        WHERE key = $1 RETURNING id::text`,
      [jobId, POOL],
    );
    return rows[0]!.id;
  }

  /** The claim a run makes (queued -> running under a lease of `ttlMs`). */
  async function claim(jobId: string, ttlMs: number): Promise<void> {
    const client = await s.pool.connect();
    try {
      await client.query('BEGIN');
      const r = await transition(
        client,
        jobId,
        'queued',
        'running',
        {},
        {
          lease: { owner: POOL, token: crypto.randomUUID(), ttlMs },
        },
      );
      expect(r.ok).toBe(true);
      await client.query('COMMIT');
    } finally {
      client.release();
    }
  }

  /** graphile-worker's complete_job for a queue-less entry, verbatim: a DELETE by id, no lock check. */
  const complete = (entryId: string) =>
    s.pool.query('DELETE FROM graphile_worker._private_jobs AS jobs WHERE id = $1::bigint', [entryId]);

  /** Two running jobs of one pool: `cut` with its lease already expired, `live` renewing. */
  async function twoRuns() {
    const cut = await s.enqueue('test.record', { ms: 10 });
    const live = await s.enqueue('test.record', { ms: 10 });
    const cutEntry = await take(cut.id);
    const liveEntry = await take(live.id);
    await claim(cut.id, 1);
    await claim(live.id, 60_000);
    await new Promise((r) => setTimeout(r, 20));
    return { cut, live, cutEntry, liveEntry };
  }

  it('the cut run completing its old entry leaves the requeued job a fresh, runnable one; a live run keeps its lock', async () => {
    const { cut, live, cutEntry, liveEntry } = await twoRuns();
    // Past the grace after the server's start-up (a restart gives live workers one TTL to renew).
    await new Promise((r) => setTimeout(r, TTL_MS));

    const result = await sweep(db, TTL_MS);
    expect(result.requeued).toEqual([cut.id]);
    await complete(cutEntry);

    expect((await s.job(cut.id)).status).toBe('queued');
    const fresh = await entries(cut.id);
    expect(fresh).toHaveLength(1);
    expect(fresh[0]).toMatchObject({ locked_by: null, attempts: 0 });
    expect(fresh[0]!.id).not.toBe(cutEntry);
    // The live run's entry is still its own: nobody else can take it and run the job a second time.
    expect(await entries(live.id)).toEqual([expect.objectContaining({ id: liveEntry, locked_by: POOL })]);
  });

  it('control: the previous sweep (force_unlock_workers of the pool) loses the job and frees the live entry', async () => {
    const { cut, live, cutEntry, liveEntry } = await twoRuns();
    const client = await s.pool.connect();
    try {
      await client.query('BEGIN');
      await transition(client, cut.id, 'running', 'queued', { reason: 'lease expired' });
      await client.query('SELECT graphile_worker.force_unlock_workers($1::text[])', [[POOL]]);
      await client.query('COMMIT');
    } finally {
      client.release();
    }
    await complete(cutEntry);

    expect((await s.job(cut.id)).status).toBe('queued');
    expect(await entries(cut.id)).toEqual([]); // queued, and nothing will ever run it
    expect(await entries(live.id)).toEqual([expect.objectContaining({ id: liveEntry, locked_by: null })]);
  });

  it('a queued job whose entry is gone, spent, or held past a TTL by a dead taker gets a fresh entry', async () => {
    const gone = await s.enqueue('test.record', { ms: 10 });
    const spent = await s.enqueue('test.record', { ms: 10 });
    const held = await s.enqueue('test.record', { ms: 10 });
    const waiting = await s.enqueue('test.record', { ms: 10 });
    await complete((await entries(gone.id))[0]!.id);
    await s.pool.query('UPDATE graphile_worker._private_jobs SET attempts = max_attempts WHERE key = $1', [
      spent.id,
    ]);
    await s.pool.query(
      `UPDATE graphile_worker._private_jobs SET locked_by = 'dead-pool', locked_at = now() - interval '1 minute'
        WHERE key = $1`,
      [held.id],
    );
    const result = await sweep(db, TTL_MS);
    // (The control's lost job is reissued too.)
    expect(result.reissued).toEqual(expect.arrayContaining([gone.id, spent.id, held.id]));
    expect(result.reissued).not.toContain(waiting.id);
    for (const job of [gone, spent, held, waiting]) {
      const runnable = (await entries(job.id)).filter(
        (e) => e.locked_by === null && e.attempts < e.max_attempts,
      );
      expect(runnable).toHaveLength(1);
    }
    expect((await sweep(db, TTL_MS)).reissued).toEqual([]);
  });
});
