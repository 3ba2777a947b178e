import { JobNotFoundError, JobsInputError } from './errors.ts';
import { EVENT_COLUMNS, toEvent, type EventRow } from './rows.ts';
import type { JobEvent, JobEventType, Queryable } from './types.ts';
import { JOB_EVENT_TYPES } from './types.ts';

/**
 * Appends one event to a job's log. Call it on the client of the transaction that makes the change
 * the event reports. The UPDATE of `last_seq` takes the job-row lock and increments it in one
 * statement (the same as SELECT … FOR UPDATE then `last_seq + 1`): concurrent writers of one job
 * queue on that lock, so seq numbers are gap-free (a rollback returns its number with it) and in
 * commit order.
 */
export async function appendEvent(
  client: Queryable,
  jobId: string,
  type: JobEventType,
  data: Record<string, unknown> = {},
): Promise<JobEvent> {
  if (!JOB_EVENT_TYPES.includes(type)) throw new JobsInputError(`type: unknown event type "${type}"`);
  const { rows } = await client.query<EventRow>(
    `WITH job AS (
       UPDATE tether_jobs SET last_seq = last_seq + 1, updated_at = now() WHERE id = $1 RETURNING id, last_seq
     )
     INSERT INTO tether_job_events (job_id, seq, type, data)
     SELECT id, last_seq, $2, $3::jsonb FROM job
     RETURNING ${EVENT_COLUMNS}`,
    [jobId, type, JSON.stringify(data)],
  );
  if (!rows[0]) throw new JobNotFoundError(jobId);
  return toEvent(rows[0]);
}

/** Default and ceiling of `readEvents`' page size. */
export const MAX_EVENTS_PAGE = 1000;

/** A job's events with `seq > after`, oldest first, at most `limit` of them. */
export async function readEvents(
  db: Queryable,
  jobId: string,
  after = 0,
  limit = MAX_EVENTS_PAGE,
): Promise<JobEvent[]> {
  if (!Number.isInteger(after) || after < 0) throw new JobsInputError('after: must be an integer >= 0');
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_EVENTS_PAGE) {
    throw new JobsInputError(`limit: must be an integer from 1 to ${MAX_EVENTS_PAGE}`);
  }
  const { rows } = await db.query<EventRow>(
    `SELECT ${EVENT_COLUMNS} FROM tether_job_events WHERE job_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`,
    [jobId, after, limit],
  );
  return rows.map(toEvent);
}
