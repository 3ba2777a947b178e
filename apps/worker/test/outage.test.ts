import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectGapFree, type Servers, startServers, waitFor } from './support.ts';

const final = (status: string) => ['succeeded', 'failed', 'cancelled'].includes(status);

const NAIVE_STREAM = 'naive:job-events';

/**
 * The control: "publish after commit, no outbox". Each event, the first time it is seen committed in
 * Postgres, is XADDed to its own stream once; a failed XADD is forgotten. Its Redis client fails fast
 * (no offline queue), as a publisher on a request path must: it cannot hold a request until Redis is
 * back, and an in-memory queue would die with the process anyway.
 */
function startNaiveRelay(s: Servers) {
  const redis = new Redis(s.redisServer.url, { enableOfflineQueue: false, maxRetriesPerRequest: 0 });
  redis.on('error', () => {});
  const seen: string[] = [];
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const { rows } = await s.pool.query<{ id: string; job_id: string; seq: number; type: string }>(
        'SELECT id, job_id, seq, type FROM tether_job_events WHERE NOT (id = ANY($1::bigint[])) ORDER BY id',
        [seen],
      );
      for (const row of rows) {
        seen.push(row.id);
        redis
          .xadd(NAIVE_STREAM, '*', 'jobId', row.job_id, 'seq', String(row.seq), 'type', row.type)
          .catch(() => {});
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  return {
    redis,
    async stop() {
      stopped = true;
      await loop;
      redis.disconnect();
    },
  };
}

async function allFinished(s: Servers, ids: string[], timeoutMs: number) {
  return waitFor(
    async () => {
      const jobs = await Promise.all(ids.map((id) => s.job(id)));
      return jobs.every((job) => final(job.status)) && jobs;
    },
    timeoutMs,
    'every job to finish',
    200,
  );
}

describe('the worker through dependency restarts', () => {
  describe('Postgres restarted during a flow of jobs', () => {
    let s: Servers;
    beforeAll(async () => {
      s = await startServers();
    });
    afterAll(() => s?.close());

    it('every accepted job completes after recovery, with gap-free events; the worker process survives', async () => {
      const worker = await s.worker();
      const jobs = await Promise.all(
        Array.from({ length: 30 }, (_, i) => s.enqueue('demo.sleep', { ms: 300 + (i % 5) * 200, steps: 3 })),
      );
      await waitFor(
        async () =>
          (await s.pool.query("SELECT 1 FROM tether_jobs WHERE status = 'succeeded'")).rowCount! >= 3,
        30_000,
        'the flow to be under way',
      );
      await s.server.restart(2_000);
      const done = await allFinished(
        s,
        jobs.map((j) => j.id),
        90_000,
      ).catch(async (error: Error) => {
        const { rows } = await s.pool.query('SELECT status, count(*) FROM tether_jobs GROUP BY 1');
        const problems = worker
          .output()
          .split('\n')
          .filter((line) => !line.includes('"level":30'));
        throw new Error(`${error.message}: ${JSON.stringify(rows)}\n${problems.slice(-40).join('\n')}`);
      });
      expect(done.map((job) => job.status)).toEqual(jobs.map(() => 'succeeded'));
      for (const job of jobs) {
        const events = await s.events(job.id);
        expect(expectGapFree(events.map((e) => e.seq))).toBe(true);
        expect(events.at(-1)?.type).toBe('succeeded');
      }
      // Same process: the pool rode out the restart instead of crashing the worker.
      expect(worker.child.exitCode).toBeNull();
      expect(worker.output()).not.toMatch(/"level":60/);
    }, 150_000);
  });

  describe('Redis restarted while events are being written', () => {
    let s: Servers;
    beforeAll(async () => {
      // Persistence on, as any Redis holding a stream others read from should run: the restart then
      // keeps what was relayed before it, and the test can ask whether anything is missing.
      s = await startServers({ appendonly: 'yes', appendfsync: 'always' });
    });
    afterAll(() => s?.close());

    it('no event missing or out of order in the stream once the relay catches up; a naive publisher loses some', async () => {
      const naive = startNaiveRelay(s);
      await s.worker();
      const jobs = await Promise.all(
        Array.from({ length: 20 }, () => s.enqueue('demo.sleep', { ms: 4_000, steps: 8 })),
      );
      await waitFor(
        async () =>
          (await s.pool.query("SELECT 1 FROM tether_job_events WHERE type = 'progress'")).rowCount! >= 10,
        30_000,
        'progress events',
      );
      const downAt = new Date();
      await s.redisServer.stop();
      // The outage is real: a publisher that wrote to Redis at event time would lose these.
      const direct = new Redis(s.redisServer.url, { lazyConnect: true, retryStrategy: () => null });
      direct.on('error', () => {});
      await expect(direct.connect()).rejects.toThrow();
      const before = Number((await s.pool.query('SELECT count(*) AS n FROM tether_job_events')).rows[0].n);
      await new Promise((r) => setTimeout(r, 3_000));
      const during = Number((await s.pool.query('SELECT count(*) AS n FROM tether_job_events')).rows[0].n);
      expect(during).toBeGreaterThan(before);
      await s.redisServer.start();
      await waitFor(async () => naive.redis.status === 'ready', 20_000, 'the naive publisher to reconnect');
      const upAt = new Date();

      await allFinished(
        s,
        jobs.map((j) => j.id),
        60_000,
      );
      for (const job of jobs) {
        const events = await s.events(job.id);
        expect(expectGapFree(events.map((e) => e.seq))).toBe(true);
        const streamed = await waitFor(
          async () => {
            const entries = await s.streamed(job.id);
            return new Set(entries.map((e) => e.seq)).size >= events.length && entries;
          },
          20_000,
          'the relay to catch up',
        );
        // At least once: a batch cut by the restart may be sent again, so a seq can repeat, but every
        // event is there, and dropping repeats leaves them in order.
        const firsts = streamed.filter((e, i) => streamed.findIndex((f) => f.seq === e.seq) === i);
        expect(firsts).toEqual(events.map((e) => ({ seq: e.seq, type: e.type })));
      }

      // The control, through the same outage: what the naive publisher tried to send while Redis was
      // down is gone for good, and only that (before and after it, every event arrived).
      await naive.stop();
      const sent = new Set(
        ((await s.redis.xrange(NAIVE_STREAM, '-', '+')) as [string, string[]][]).map(
          ([, f]) => `${f[f.indexOf('jobId') + 1]}/${f[f.indexOf('seq') + 1]}`,
        ),
      );
      const { rows: all } = await s.pool.query<{ job_id: string; seq: number; created_at: Date }>(
        'SELECT job_id, seq, created_at FROM tether_job_events WHERE job_id = ANY($1::uuid[])',
        [jobs.map((j) => j.id)],
      );
      const lost = all.filter((e) => !sent.has(`${e.job_id}/${e.seq}`));
      expect(lost.length).toBeGreaterThan(0);
      // 2 s of slack either side: the naive loop polls, and the machine is loaded.
      for (const e of lost) {
        expect(e.created_at.getTime()).toBeGreaterThan(downAt.getTime() - 2_000);
        expect(e.created_at.getTime()).toBeLessThan(upAt.getTime() + 2_000);
      }
      console.log(`control: the naive publisher lost ${lost.length} of ${all.length} events`);
    }, 150_000);
  });
});
