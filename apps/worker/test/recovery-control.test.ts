import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bareWorkers, type Servers, startServers, waitFor } from './support.ts';

describe('control: bare graphile-worker and a killed worker', () => {
  let s: Servers;
  const { start, killAll } = bareWorkers(() => s);
  beforeAll(async () => {
    s = await startServers();
  });
  afterAll(async () => {
    killAll();
    await s?.close();
  });

  // Shortened from the 60 s: 40 s is well past our recovery bound (lease 10 s + sweep 2 s +
  // poll 1 s, asserted < 30 s in recovery.test.ts), and graphile-worker's own expiry is 4 hours.
  it('leaves the SIGKILLed worker’s job locked and never run again 40 s later, with another worker idle', async () => {
    const job = await s.enqueue('demo.sleep', { ms: 1_000, steps: 1 });
    const first = start();
    await waitFor(
      async () => (await s.runs(job.id)).length === 1,
      30_000,
      'the bare worker to start the job',
    );
    const [{ locked_by: lockedBy }] = (
      await s.pool.query<{ locked_by: string }>('SELECT locked_by FROM graphile_worker.jobs WHERE key = $1', [
        job.id,
      ])
    ).rows as [{ locked_by: string }];
    first.kill('SIGKILL');
    await once(first, 'exit');
    start();
    await new Promise((r) => setTimeout(r, 40_000));
    const { rows } = await s.pool.query<{ locked_by: string | null }>(
      'SELECT locked_by FROM graphile_worker.jobs WHERE key = $1',
      [job.id],
    );
    expect(rows[0]?.locked_by).toBe(lockedBy);
    expect(await s.runs(job.id)).toHaveLength(1);
    expect((await s.job(job.id)).status).toBe('queued');
  }, 120_000);
});
