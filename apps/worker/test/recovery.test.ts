import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectGapFree, type Servers, startServers, waitFor } from './support.ts';

const final = (status: string) => ['succeeded', 'failed', 'cancelled'].includes(status);

describe('dead-worker recovery (lease 10 s, sweep every 2 s)', () => {
  let s: Servers;
  beforeAll(async () => {
    s = await startServers();
  });
  afterAll(() => s?.close());

  it('SIGKILL mid-job: the job runs again on another worker within 30 s and succeeds; no job lost; a slow job on a live worker runs once', async () => {
    // A runs one job at a time, so the victim is the only job it holds when it is killed.
    const a = await s.worker({ WORKER_CONCURRENCY: '1' });
    // Long on its first run (the kill must land mid-job however slow the machine), short on the rerun.
    const victim = await s.enqueue('test.record', { ms: 120_000, steps: 120, retryMs: 2_000 });
    await waitFor(async () => (await s.runs(victim.id)).length === 1, 20_000, 'A to start the victim');
    expect((await s.runs(victim.id))[0]?.pid).toBe(a.child.pid);
    const b = await s.worker({ WORKER_CONCURRENCY: '4' });
    // Slower than two lease TTLs: only renewals keep the sweeper away from it.
    const slow = await s.enqueue('test.record', { ms: 25_000, steps: 25 });
    const quick = await Promise.all(
      Array.from({ length: 10 }, () => s.enqueue('test.record', { ms: 200, steps: 1 })),
    );
    await waitFor(
      async () => (((await s.job(victim.id)).progress as { step?: number } | null)?.step ?? 0) >= 2,
      20_000,
      'two steps of the victim',
    );
    const killedAt = Date.now();
    await a.stop('SIGKILL');

    // Recovery is the job running again (lease TTL 10 s + sweep + wake-up: about 15 s), so the bound is on the
    // rerun's start: its `running` event, stamped by Postgres when B's claim began. Not on the rerun's
    // end: that adds the rerun itself, 2 s of sleep and 120 sequential progress transactions, whose
    // time grows with the machine's load and has nothing to do with how fast the job was recovered.
    const rerun = await waitFor(
      async () => (await s.events(victim.id)).filter((e) => e.type === 'running')[1],
      40_000,
      'the victim to run again on B',
      100,
    );
    const recoveredInMs = rerun.createdAt.getTime() - killedAt;
    expect(recoveredInMs, `ran again ${recoveredInMs} ms after the kill`).toBeLessThan(30_000);
    const done = await waitFor(
      async () => {
        const job = await s.job(victim.id);
        return final(job.status) && job;
      },
      60_000,
      'the victim to finish on B',
      100,
    );
    expect(done.status).toBe('succeeded');
    // Two runs started (A, killed; then B), one completed (B): the non-idempotent INSERTs show it.
    const runs = await s.runs(victim.id);
    expect(runs.map((r) => [r.pid, r.kind])).toEqual([
      [a.child.pid, 'started'],
      [b.child.pid, 'started'],
      [b.child.pid, 'completed'],
    ]);
    const events = await s.events(victim.id);
    expect(expectGapFree(events.map((e) => e.seq))).toBe(true);
    expect(events.find((e) => e.type === 'queued' && e.seq > 1)?.data.reason).toMatch(/lease expired/);
    expect(events.at(-1)?.type).toBe('succeeded');
    // The relay published the rescued job's whole history in order. At least once (libs/jobs README,
    // "Redis stream"): A was SIGKILLed with its relay running, and a batch it had XADDed before its
    // marking transaction died with it is sent again by B, so a seq may repeat; without repeats, the
    // stream is the log.
    const streamed = await waitFor(
      async () => {
        const entries = await s.streamed(victim.id);
        return new Set(entries.map((e) => e.seq)).size >= events.length && entries;
      },
      10_000,
      'the stream to catch up',
    );
    const firsts = streamed.filter((e, i) => streamed.findIndex((f) => f.seq === e.seq) === i);
    expect(firsts).toEqual(events.map((e) => ({ seq: e.seq, type: e.type })));

    // No job lost, none run twice: every quick job completed exactly once.
    for (const job of quick) {
      await waitFor(async () => final((await s.job(job.id)).status), 30_000, 'the quick jobs');
      expect((await s.job(job.id)).status).toBe('succeeded');
      expect((await s.runs(job.id)).map((r) => r.kind)).toEqual(['started', 'completed']);
    }
    const slowDone = await waitFor(
      async () => {
        const job = await s.job(slow.id);
        return final(job.status) && job;
      },
      40_000,
      'the slow job',
      200,
    );
    expect(slowDone.status).toBe('succeeded');
    expect(slowDone.attempts).toBe(1);
    expect((await s.runs(slow.id)).map((r) => [r.pid, r.kind])).toEqual([
      [b.child.pid, 'started'],
      [b.child.pid, 'completed'],
    ]);
  }, 150_000);
});
