import {
  DEFAULT_QUEUE_MAX_ATTEMPTS,
  QUEUE_TASK,
  queueJobKey,
  transition,
  type Queryable,
} from '@tether/jobs';

/**
 * Gives a job a fresh graphile-worker queue entry due in `delayMs`, on the caller's client. The
 * `tether_jobs` row is the record; an entry is only a wake-up, and every move to `queued` issues a new
 * one. With the job id as `job_key`, `add_job` either updates an idle entry in place (nobody holds
 * it) or, when an entry of the job is locked (a run holds it) or exhausted, strips that entry's key
 * and sets its attempts to the maximum, so it never runs again, and inserts a new one. Nothing that
 * a run still holds is ever unlocked or reused, so that run's `complete_job` (a DELETE by entry id)
 * can only remove its own, spent entry, never the one that carries the job now.
 */
export async function issueQueueEntry(
  client: Queryable,
  job: { id: string; type: string },
  delayMs: number,
): Promise<void> {
  await client.query(
    `SELECT graphile_worker.add_job($1, json_build_object('jobId', $2::text, 'type', $3::text),
       run_at := now() + $4::integer * interval '1 millisecond', max_attempts := $5::integer, job_key := $6)`,
    [QUEUE_TASK, job.id, job.type, Math.round(delayMs), DEFAULT_QUEUE_MAX_ATTEMPTS, queueJobKey(job.id)],
  );
}

/**
 * Puts a running job back to `queued` (with a `queued` event carrying `data`) and issues it a fresh
 * queue entry due in `delayMs`, in the caller's transaction, fenced by the lease token. Returns false
 * (and writes nothing) when the lease was no longer ours — which also makes it safe to run again
 * after a COMMIT whose outcome was unknown: a landed first try moved the job off `running`.
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
  await issueQueueEntry(client, job, delayMs);
  return true;
}
