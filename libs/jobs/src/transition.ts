import { JobsInputError } from './errors.ts';
import { appendEvent } from './events.ts';
import { EVENT_COLUMNS, JOB_COLUMNS, toEvent, toJob, type EventRow, type JobRow } from './rows.ts';
import {
  FINAL_STATUSES,
  JOB_STATUSES,
  type Job,
  type JobEvent,
  type JobStatus,
  type Queryable,
} from './types.ts';

export interface TransitionOptions {
  /** Stored as the job's result (typically with `succeeded`). */
  result?: unknown;
  /** Stored as the job's error (typically with `failed`). */
  error?: unknown;
  /**
   * Fencing: the transition only happens while the job's `lease_token` equals this, so a worker
   * whose lease was taken over cannot finish the job late. Omit to skip the check.
   */
  leaseToken?: string;
  /** With `to: 'running'`: the lease the worker takes (owner, fencing token, duration). */
  lease?: { owner: string; token: string; ttlMs: number };
}

export type TransitionResult =
  | { ok: true; job: Job; event: JobEvent }
  /** Nothing changed: the job was not in one of `from` (or the lease token did not match). `status` is null when the job does not exist. */
  | { ok: false; status: JobStatus | null };

/**
 * Moves a job from one of `from` to `to` and appends the event `to` with `data`, both on `client`
 * (call it inside a transaction so the state and its event commit together). The job row is locked
 * by the UPDATE, so concurrent transitions serialise and exactly one of two racing callers wins.
 * `running` stamps `started_at` and counts an attempt; final states stamp `finished_at` and clear
 * the lease; `queued` (a released job) clears the lease too.
 */
export async function transition(
  client: Queryable,
  jobId: string,
  from: JobStatus | readonly JobStatus[],
  to: JobStatus,
  data: Record<string, unknown> = {},
  options: TransitionOptions = {},
): Promise<TransitionResult> {
  const fromList = typeof from === 'string' ? [from] : [...from];
  for (const status of [...fromList, to]) {
    if (!JOB_STATUSES.includes(status)) throw new JobsInputError(`status: unknown job status "${status}"`);
  }
  if (options.lease && to !== 'running') throw new JobsInputError('lease: only taken with to = running');
  if (options.lease && (!Number.isInteger(options.lease.ttlMs) || options.lease.ttlMs < 1)) {
    throw new JobsInputError('lease.ttlMs: must be a positive integer');
  }
  const final = FINAL_STATUSES.includes(to);
  const { rows } = await client.query<{ id: string }>(
    `UPDATE tether_jobs SET
       status = $3,
       updated_at = now(),
       attempts = attempts + CASE WHEN $3 = 'running' THEN 1 ELSE 0 END,
       started_at = CASE WHEN $3 = 'running' THEN now() ELSE started_at END,
       finished_at = CASE WHEN $4 THEN now() ELSE finished_at END,
       result = CASE WHEN $5::boolean THEN $6::jsonb ELSE result END,
       error = CASE WHEN $7::boolean THEN $8::jsonb ELSE error END,
       lease_owner = CASE WHEN $3 = 'running' THEN $10 WHEN $3 = 'queued' OR $4 THEN NULL ELSE lease_owner END,
       lease_token = CASE WHEN $3 = 'running' THEN $11::uuid WHEN $3 = 'queued' OR $4 THEN NULL ELSE lease_token END,
       lease_expires_at = CASE
         WHEN $3 = 'running' AND $12::integer IS NOT NULL THEN now() + $12::integer * interval '1 millisecond'
         WHEN $3 = 'running' OR $3 = 'queued' OR $4 THEN NULL
         ELSE lease_expires_at END
     WHERE id = $1 AND status = ANY($2::text[]) AND ($9::uuid IS NULL OR lease_token = $9::uuid)
     RETURNING id`,
    [
      jobId,
      fromList,
      to,
      final,
      options.result !== undefined,
      options.result === undefined ? null : JSON.stringify(options.result),
      options.error !== undefined,
      options.error === undefined ? null : JSON.stringify(options.error),
      options.leaseToken ?? null,
      options.lease?.owner ?? null,
      options.lease?.token ?? null,
      options.lease?.ttlMs ?? null,
    ],
  );
  if (!rows[0]) {
    const current = await client.query<{ status: JobStatus }>(
      'SELECT status FROM tether_jobs WHERE id = $1',
      [jobId],
    );
    return { ok: false, status: current.rows[0]?.status ?? null };
  }
  const event = await appendEvent(client, jobId, to, data);
  const job = await client.query<JobRow>(`SELECT ${JOB_COLUMNS} FROM tether_jobs WHERE id = $1`, [jobId]);
  return { ok: true, job: toJob(job.rows[0]!), event };
}

/**
 * Records a progress report of a running job: the job's `progress` column and a `progress` event
 * with the same data, in one statement pair on `client`. Returns null (and writes nothing) when the
 * job is not running or, with `leaseToken`, no longer leased by the caller.
 *
 * With `afterSeq` (the job's last event seq the caller knows of) the write happens only if the log
 * still ends there, which makes it safe to send again after a COMMIT whose outcome was unknown: if
 * the first try landed, the log ends at `afterSeq + 1` with this report, and that event is returned
 * instead of a second copy. Only the lease holder appends to a running job's log, so `afterSeq` is
 * exact for it.
 */
export async function reportProgress(
  client: Queryable,
  jobId: string,
  progress: Record<string, unknown>,
  options: { leaseToken?: string; afterSeq?: number } = {},
): Promise<JobEvent | null> {
  const afterSeq = options.afterSeq ?? null;
  if (afterSeq !== null && (!Number.isInteger(afterSeq) || afterSeq < 0))
    throw new JobsInputError('afterSeq: must be an integer >= 0');
  const token = options.leaseToken ?? null;
  const { rows } = await client.query<{ id: string }>(
    `UPDATE tether_jobs SET progress = $2::jsonb, updated_at = now()
     WHERE id = $1 AND status = 'running' AND ($3::uuid IS NULL OR lease_token = $3::uuid)
       AND ($4::integer IS NULL OR last_seq = $4::integer)
     RETURNING id`,
    [jobId, JSON.stringify(progress), token, afterSeq],
  );
  if (rows[0]) return appendEvent(client, jobId, 'progress', progress);
  if (afterSeq === null) return null;
  const landed = await client.query<EventRow>(
    `SELECT ${EVENT_COLUMNS} FROM tether_job_events e
      WHERE e.job_id = $1 AND e.seq = $2::integer + 1 AND e.type = 'progress' AND e.data = $3::jsonb
        AND EXISTS (SELECT 1 FROM tether_jobs j WHERE j.id = $1 AND j.status = 'running'
                      AND j.last_seq = $2::integer + 1 AND ($4::uuid IS NULL OR j.lease_token = $4::uuid))`,
    [jobId, afterSeq, JSON.stringify(progress), token],
  );
  return landed.rows[0] ? toEvent(landed.rows[0]) : null;
}
