import {
  DEFAULT_QUEUE_MAX_ATTEMPTS,
  QUEUE_TASK,
  queueJobKey,
  transition,
  type Queryable,
} from '@tether/jobs';

/**
 * Puts a running job back to `queued` (with a `queued` event carrying `data`) and gives it a fresh
 * queue entry due in `delayMs`, in the caller's transaction, fenced by the lease token. The entry the
 * current run holds is locked, so graphile-worker's `add_job` with the same `job_key` strips that
 * entry's key and exhausts its attempts: even if this worker dies before completing it, it never
 * runs again; the new entry alone carries the job. Returns false when the lease was no longer ours.
 */
export async function requeueJob(
  client: Queryable,
  job: { id: string; type: string },
  leaseToken: string,
  delayMs: number,
  data: Record<string, unknown>,
): Promise<boolean> {
  const moved = await transition(client, job.id, 'running', 'queued', data, { leaseToken });
  if (!moved.ok) return false;
  await client.query(
    `SELECT graphile_worker.add_job($1, json_build_object('jobId', $2::text, 'type', $3::text),
       run_at := now() + $4::integer * interval '1 millisecond', max_attempts := $5::integer, job_key := $6)`,
    [QUEUE_TASK, job.id, job.type, Math.round(delayMs), DEFAULT_QUEUE_MAX_ATTEMPTS, queueJobKey(job.id)],
  );
  return true;
}
