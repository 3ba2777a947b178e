import { CANCEL_CHANNEL, queueJobKey } from './queue.ts';
import { JOB_COLUMNS, toJob, type JobRow } from './rows.ts';
import { transition } from './transition.ts';
import type { Job, Queryable } from './types.ts';

export type CancelResult =
  /** It was queued: now `cancelled` (event written) and its queue entry removed. */
  | { outcome: 'cancelled'; job: Job }
  /** It is running: `cancel_requested_at` is set and the workers are notified; the worker ends it `cancelled`. */
  | { outcome: 'cancel_requested'; job: Job }
  /** It had already finished (succeeded, failed or cancelled): nothing changed. */
  | { outcome: 'finished'; job: Job }
  /** No such job for this owner. */
  | { outcome: 'not_found' };

/**
 * Cancels `owner`'s job `jobId`, on `client` inside the caller's transaction (the row lock taken
 * here is held until it commits, so a worker starting the job at the same moment either sees the
 * cancel or has already made it `running` and gets a cancel request).
 */
export async function cancelJob(client: Queryable, jobId: string, owner: string): Promise<CancelResult> {
  const { rows } = await client.query<JobRow>(
    `SELECT ${JOB_COLUMNS} FROM tether_jobs WHERE id = $1 AND owner = $2 FOR UPDATE`,
    [jobId, owner],
  );
  const row = rows[0];
  if (!row) return { outcome: 'not_found' };
  if (row.status === 'queued') {
    const done = await transition(client, jobId, 'queued', 'cancelled', {
      reason: 'cancelled before it started',
    });
    // A worker that already locked the queue entry finds the job cancelled and skips it;
    // remove_job only deletes unlocked entries (and defuses locked ones).
    await client.query('SELECT graphile_worker.remove_job($1)', [queueJobKey(jobId)]);
    if (done.ok) return { outcome: 'cancelled', job: done.job };
  }
  if (row.status === 'running') {
    const updated = await client.query<JobRow>(
      `UPDATE tether_jobs SET cancel_requested_at = coalesce(cancel_requested_at, now()), updated_at = now()
       WHERE id = $1 RETURNING ${JOB_COLUMNS}`,
      [jobId],
    );
    await client.query('SELECT pg_notify($1, $2)', [CANCEL_CHANNEL, jobId]);
    return { outcome: 'cancel_requested', job: toJob(updated.rows[0]!) };
  }
  return { outcome: 'finished', job: toJob(row) };
}
