import { cancelJob, type JobEvent } from '@tether/jobs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectGapFree, OWNER, type Servers, startServers, waitFor } from './support.ts';

const final = (status: string) => ['succeeded', 'failed', 'cancelled'].includes(status);

describe('the worker runs the demo jobs and records every step as an ordered event', () => {
  let s: Servers;
  beforeAll(async () => {
    s = await startServers();
    await s.worker({ WORKER_RETRY_INITIAL_DELAY_MS: '100', WORKER_RETRY_MAX_DELAY_MS: '200' });
  });
  afterAll(() => s?.close());

  it('demo.sleep: progress rises, then succeeded; events gap-free and ordered in Postgres and in the Redis Stream', async () => {
    const job = await s.enqueue('demo.sleep', { ms: 1_500, steps: 5 });
    const seen: number[] = [];
    const done = await waitFor(
      async () => {
        const current = await s.job(job.id);
        const step = (current.progress as { step?: number } | null)?.step;
        if (step !== undefined && seen.at(-1) !== step) seen.push(step);
        return final(current.status) && current;
      },
      20_000,
      'demo.sleep to finish',
      20,
    );
    expect(done.status).toBe('succeeded');
    expect(done.result).toEqual({ sleptMs: 1_500, steps: 5 });
    expect(seen.length).toBeGreaterThanOrEqual(2);
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
    expect(seen.at(-1)).toBe(5);

    const events = await s.events(job.id);
    expect(expectGapFree(events.map((e) => e.seq))).toBe(true);
    expect(events.map((e) => e.type)).toEqual([
      'queued',
      'running',
      'progress',
      'progress',
      'progress',
      'progress',
      'progress',
      'succeeded',
    ]);
    expect(events.filter((e) => e.type === 'progress').map((e) => e.data.step)).toEqual([1, 2, 3, 4, 5]);
    const streamed = await waitFor(
      async () => {
        const entries = await s.streamed(job.id);
        return entries.length >= events.length && entries;
      },
      10_000,
      'the relay to publish every event',
    );
    expect(streamed).toEqual(events.map((e) => ({ seq: e.seq, type: e.type })));
  });

  it('demo.fail ends failed with its message at once; demo.flaky is retried with backoff and succeeds', async () => {
    const failing = await s.enqueue('demo.fail', { message: 'no such invoice' });
    const flaky = await s.enqueue('demo.flaky', { failTimes: 2 });
    const [failed, recovered] = await Promise.all(
      [failing, flaky].map((job) =>
        waitFor(
          async () => {
            const current = await s.job(job.id);
            return final(current.status) && current;
          },
          20_000,
          `${job.type} to finish`,
        ),
      ),
    );
    expect(failed?.status).toBe('failed');
    expect(failed?.attempts).toBe(1);
    expect(failed?.error).toMatchObject({ message: 'no such invoice', code: 'TETHER_JOB_PERMANENT' });
    expect(recovered?.status).toBe('succeeded');
    expect(recovered?.attempts).toBe(3);
    expect(recovered?.result).toEqual({ attempts: 3 });
    const events = await s.events(flaky.id);
    expect(expectGapFree(events.map((e) => e.seq))).toBe(true);
    expect(events.map((e) => e.type)).toEqual([
      'queued',
      'running',
      'queued',
      'running',
      'queued',
      'running',
      'succeeded',
    ]);
    const retries = events.filter((e) => e.type === 'queued' && e.data.reason === 'retry');
    expect(retries).toHaveLength(2);
    for (const retry of retries) {
      expect(retry.data.error).toMatchObject({ code: 'TETHER_JOB_TRANSIENT' });
      expect(retry.data.retryInMs).toBeGreaterThanOrEqual(0);
    }
  });

  it('cancel of a running demo.sleep: the handler is aborted and the job ends cancelled within 1 s, progress kept', async () => {
    const job = await s.enqueue('demo.sleep', { ms: 30_000, steps: 30 });
    // At least two: a probe stalled on a loaded machine may see step 3 without ever seeing step 2.
    await waitFor(
      async () => (((await s.job(job.id)).progress as { step?: number } | null)?.step ?? 0) >= 2,
      20_000,
      'two steps of progress',
    );
    const client = await s.pool.connect();
    let requestedAt: number;
    try {
      await client.query('BEGIN');
      const result = await cancelJob(client, job.id, OWNER);
      // Postgres's clock, just before the COMMIT that makes the request visible to the worker.
      const { rows } = await client.query<{ at: Date }>('SELECT clock_timestamp() AS at');
      await client.query('COMMIT');
      requestedAt = (rows[0] as { at: Date }).at.getTime();
      expect(result.outcome).toBe('cancel_requested');
    } finally {
      client.release();
    }
    const cancelled = await waitFor(
      async () => {
        const current = await s.job(job.id);
        return final(current.status) && current;
      },
      10_000,
      'the cancel',
      10,
    );
    expect(cancelled.status).toBe('cancelled');
    expect((cancelled.progress as { step: number }).step).toBeGreaterThanOrEqual(2);
    const events = await s.events(job.id);
    expect(events.at(-1)?.type).toBe('cancelled');
    // "Stops within a second" is the handler's stop, measured on Postgres's clock at both ends: the
    // `cancelled` event is stamped when the worker, its handler already aborted, began recording the
    // end. Not when this test next saw the row: that adds the recording's commit and this process's
    // own polling, both stretched by a loaded machine and neither part of the worker's reaction.
    const stoppedInMs = (events.at(-1) as JobEvent).createdAt.getTime() - requestedAt;
    expect(stoppedInMs, `stopped ${stoppedInMs} ms after the cancel request`).toBeLessThan(1_000);
    expect(expectGapFree(events.map((e) => e.seq))).toBe(true);
    // The handler really stopped: no progress after the cancel.
    await new Promise((r) => setTimeout(r, 1_500));
    expect((await s.events(job.id)).length).toBe(events.length);
  });
});
