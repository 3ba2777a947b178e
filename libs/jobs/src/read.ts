import { decodeCursor, encodeCursor } from './cursor.ts';
import { JobsInputError } from './errors.ts';
import { JOB_COLUMNS, toJob, type JobRow } from './rows.ts';
import { JOB_STATUSES, type Job, type JobStatus, type Queryable } from './types.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** True for a string Postgres accepts as a uuid (check ids from URLs before querying). */
export function isJobId(value: string): boolean {
  return UUID.test(value);
}

// Built once: the API's hot read, not a template string per call.
const GET_JOB = `SELECT ${JOB_COLUMNS} FROM tether_jobs WHERE id = $1 AND ($2::text IS NULL OR owner = $2)`;

/** The job, or null when it does not exist or (with `owner`) belongs to someone else. */
export async function getJob(db: Queryable, jobId: string, owner?: string): Promise<Job | null> {
  if (!isJobId(jobId)) return null;
  const { rows } = await db.query<JobRow>(GET_JOB, [jobId, owner ?? null]);
  return rows[0] ? toJob(rows[0]) : null;
}

export const MAX_PAGE_SIZE = 100;

export interface ListJobsInput {
  owner: string;
  status?: JobStatus;
  /** 1..100, default 20. */
  limit?: number;
  /** `nextCursor` of the previous page (InvalidCursorError if it is not one). */
  cursor?: string;
}

export interface JobPage {
  jobs: Job[];
  /** Present when there may be more: pass it as `cursor` for the next page. */
  nextCursor: string | null;
}

/**
 * One page of an owner's jobs, newest first (created_at, id). The cursor is the position of the
 * last job returned, so jobs created while a client pages (they sort before the cursor) neither
 * shift nor repeat the rest.
 */
export async function listJobs(db: Queryable, input: ListJobsInput): Promise<JobPage> {
  const limit = input.limit ?? 20;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_SIZE) {
    throw new JobsInputError(`limit: must be an integer from 1 to ${MAX_PAGE_SIZE}`);
  }
  if (input.status !== undefined && !JOB_STATUSES.includes(input.status)) {
    throw new JobsInputError(`status: unknown job status "${input.status}"`);
  }
  const position = input.cursor === undefined ? null : decodeCursor(input.cursor);
  const { rows } = await db.query<JobRow & { created_us: string }>(
    `SELECT ${JOB_COLUMNS}, (extract(epoch FROM created_at) * 1000000)::bigint AS created_us
     FROM tether_jobs
     WHERE owner = $1 AND ($2::text IS NULL OR status = $2)
       AND ($3::bigint IS NULL OR (created_at, id) < (timestamptz 'epoch' + $3::bigint * interval '1 microsecond', $4::uuid))
     ORDER BY created_at DESC, id DESC
     LIMIT $5`,
    [
      input.owner,
      input.status ?? null,
      position?.createdUs.toString() ?? null,
      position?.id ?? null,
      limit + 1,
    ],
  );
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return {
    jobs: page.map(toJob),
    nextCursor:
      rows.length > limit && last ? encodeCursor({ createdUs: BigInt(last.created_us), id: last.id }) : null,
  };
}
