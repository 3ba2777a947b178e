import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bareWorkers, expectGapFree, type Servers, startServers, waitFor } from './support.ts';

const final = (status: string) => ['succeeded', 'failed', 'cancelled'].includes(status);

describe('SIGTERM to a worker mid-job', () => {
  let s: Servers;
  beforeAll(async () => {
    s = await startServers();
  });
  afterAll(() => s?.close());

  it('finishes a job that fits the budget, takes no new job, and exits 0', async () => {
    const a = await s.worker({ SHUTDOWN_TIMEOUT_MS: '20000' });
    const job = await s.enqueue('test.record', { ms: 3_000, steps: 3 });
    await waitFor(async () => (await s.runs(job.id)).length === 1, 30_000, 'A to start the job');
    const code = a.stop('SIGTERM');
    // Enqueued after the signal: a stopping worker must leave it for the others.
    const later = await s.enqueue('test.record', { ms: 100, steps: 1 });
    expect(await code).toBe(0);
    expect((await s.job(job.id)).status).toBe('succeeded');
    expect((await s.runs(job.id)).map((r) => [r.pid, r.kind])).toEqual([
      [a.child.pid, 'started'],
      [a.child.pid, 'completed'],
    ]);
    expect((await s.job(later.id)).status).toBe('queued');
    expect(await s.runs(later.id)).toHaveLength(0);
    expect(a.output()).toMatch(/shutdown complete/);
  });

  it('hands a job that does not fit back at the deadline; another worker resumes it at once', async () => {
    const a = await s.worker({ SHUTDOWN_TIMEOUT_MS: '4000', WORKER_CONCURRENCY: '1' });
    const job = await s.enqueue('test.record', { ms: 120_000, steps: 120, retryMs: 1_000 });
    await waitFor(async () => (await s.runs(job.id)).length === 1, 30_000, 'A to start the job');
    const b = await s.worker();
    await a.stop('SIGTERM');
    const exitedAt = Date.now();
    const resumed = await waitFor(
      async () => (await s.runs(job.id)).find((r) => r.pid === b.child.pid),
      30_000,
      'B to resume the job',
      20,
    );
    // "At once": a fresh queue entry wakes B (LISTEN/NOTIFY), not a lease expiry (10 s) or a 4 h lock.
    expect(Date.now() - exitedAt).toBeLessThan(5_000);
    expect(resumed.kind).toBe('started');
    const done = await waitFor(
      async () => {
        const current = await s.job(job.id);
        return final(current.status) && current;
      },
      30_000,
      'the job to finish on B',
    );
    expect(done.status).toBe('succeeded');
    expect((await s.runs(job.id)).map((r) => [r.pid, r.kind])).toEqual([
      [a.child.pid, 'started'],
      [b.child.pid, 'started'],
      [b.child.pid, 'completed'],
    ]);
    const events = await s.events(job.id);
    expect(expectGapFree(events.map((e) => e.seq))).toBe(true);
    expect(events.find((e) => e.type === 'queued' && e.seq > 1)?.data.reason).toMatch(/shutting down/);
    expect(a.output()).toMatch(/job handed back at shutdown/);
  }, 120_000);
});

describe('control: bare graphile-worker, SIGTERM mid-job, then SIGKILL at the grace deadline', () => {
  let s: Servers;
  const { start, killAll } = bareWorkers(() => s);
  beforeAll(async () => {
    s = await startServers();
  });
  afterAll(async () => {
    killAll();
    await s?.close();
  });

  // The kubelet's way: SIGTERM, then SIGKILL once the grace period (4 s, as above) is over. The bare
  // fixture runs with `noHandleSignals` and no handler of its own, so Node's default ends it on
  // SIGTERM already; the SIGKILL is the backstop. 15 s is three times the 5 s our handed-back job
  // is asserted to be resumed in.
  it('leaves the job that did not fit locked by the dead worker; an idle bare worker does not take it', async () => {
    const job = await s.enqueue('demo.sleep', { ms: 120_000, steps: 120 });
    const first = start();
    await waitFor(
      async () => (await s.runs(job.id)).length === 1,
      30_000,
      'the bare worker to start the job',
    );
    const second = start();
    const [{ locked_by: lockedBy }] = (
      await s.pool.query<{ locked_by: string }>('SELECT locked_by FROM graphile_worker.jobs WHERE key = $1', [
        job.id,
      ])
    ).rows as [{ locked_by: string }];
    expect(lockedBy).toBeTruthy();
    const exited = once(first, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    first.kill('SIGTERM');
    const deadline = setTimeout(() => first.kill('SIGKILL'), 4_000);
    const [, signal] = await exited;
    clearTimeout(deadline);
    expect(signal).toBe('SIGTERM');
    await new Promise((r) => setTimeout(r, 15_000));
    expect(second.exitCode).toBeNull();
    const { rows } = await s.pool.query<{ locked_by: string | null }>(
      'SELECT locked_by FROM graphile_worker.jobs WHERE key = $1',
      [job.id],
    );
    expect(rows[0]?.locked_by).toBe(lockedBy);
    expect(await s.runs(job.id)).toEqual([{ pid: first.pid, kind: 'started' }]);
    // Only the dead worker's lock holds it back: released by hand, the idle worker takes it at once.
    await s.pool.query('SELECT graphile_worker.force_unlock_workers($1::text[])', [[lockedBy]]);
    await waitFor(
      async () => (await s.runs(job.id)).some((r) => r.pid === second.pid),
      10_000,
      'the idle bare worker to take the unlocked job',
    );
  }, 120_000);
});
