import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectGapFree, type Servers, startServers, waitFor } from './support.ts';

const final = (status: string) => ['succeeded', 'failed', 'cancelled'].includes(status);

/**
 * The chaos run's `terminate-storm` on the worker alone: every worker session is terminated every
 * 200 ms for 3 s while jobs run (lease 3 s, as in the quick chaos run). Before the fix, jobs cut by it
 * went back to `queued` and stayed there: the sweeper freed the worker pool's queue entries
 * (`force_unlock_workers`) and the cut runs then completed — deleted — the entries their jobs had
 * been requeued onto (the step-by-step control is in sweeper.test.ts).
 */
describe('pg_terminate_backend storm on the worker while jobs run (lease 3 s)', () => {
  let s: Servers;
  beforeAll(async () => {
    s = await startServers();
  }, 120_000);
  afterAll(() => s?.close());

  it('every job ends succeeded within 30 s of the storm; none left queued; each event log gap-free', async () => {
    const worker = await s.worker({
      WORKER_LEASE_TTL_MS: '3000',
      WORKER_SWEEP_INTERVAL_MS: '1000',
      WORKER_CONCURRENCY: '4',
    });
    const jobs = await Promise.all(
      Array.from({ length: 12 }, () => s.enqueue('test.record', { ms: 1_500, steps: 6 })),
    );
    await waitFor(
      async () => (await s.pool.query('SELECT 1 FROM test_runs')).rowCount! >= 3,
      30_000,
      'jobs to be running',
    );
    let terminated = 0;
    const stormEnd = Date.now() + 3_000;
    while (Date.now() < stormEnd) {
      const { rowCount } = await s.pool.query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'tether-worker'`,
      );
      terminated += rowCount ?? 0;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(terminated).toBeGreaterThan(0);

    const done = await waitFor(
      async () => {
        const all = await Promise.all(jobs.map((j) => s.job(j.id)));
        return all.every((j) => final(j.status)) && all;
      },
      30_000,
      'every job to finish after the storm',
      200,
    ).catch(async (error: Error) => {
      const { rows } = await s.pool.query('SELECT status, count(*)::int AS n FROM tether_jobs GROUP BY 1');
      const problems = worker
        .output()
        .split('\n')
        .filter((line) => !line.includes('"level":30'));
      throw new Error(`${error.message}: ${JSON.stringify(rows)}\n${problems.slice(-30).join('\n')}`);
    });
    expect(done.map((j) => j.status)).toEqual(jobs.map(() => 'succeeded'));
    let reruns = 0;
    for (const job of jobs) {
      const events = await s.events(job.id);
      expect(expectGapFree(events.map((e) => e.seq))).toBe(true);
      expect(events.at(-1)?.type).toBe('succeeded');
      if (events.filter((e) => e.type === 'running').length > 1) reruns++;
    }
    console.log(`storm: ${terminated} sessions terminated, ${reruns} of ${jobs.length} jobs ran again`);
    expect(worker.child.exitCode).toBeNull();
  }, 150_000);
});
