import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectGapFree, type Servers, startServers, waitFor } from './support.ts';

const final = (status: string) => ['succeeded', 'failed', 'cancelled'].includes(status);

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

    it('no event missing or out of order in the stream once the relay catches up', async () => {
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
    }, 150_000);
  });
});
