import { IdempotencyKeyReusedError, JobsInputError } from './errors.ts';
import { DEFAULT_QUEUE_MAX_ATTEMPTS, QUEUE_TASK } from './queue.ts';
import { requestHash } from './request-hash.ts';
import { JOB_COLUMNS, toJob, type JobRow } from './rows.ts';
import type { Job, Queryable } from './types.ts';

/** How long an idempotency key identifies its job (Stripe and the IETF draft's usual 24 h). */
export const DEFAULT_IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;

export interface EnqueueInput {
  /** The principal (JWT `sub`) that owns the job. */
  owner: string;
  type: string;
  payload: Record<string, unknown>;
  /** Same owner + same key + same request => the same job, never a second one. */
  idempotencyKey?: string;
  /** Fingerprint of the request; default `requestHash({ type, payload })`. */
  requestHash?: string;
  /** How long the key identifies this job; default 24 h. */
  idempotencyTtlMs?: number;
  /** graphile-worker `max_attempts` of the queue entry; default 25. */
  maxAttempts?: number;
  /** W3C trace context of the request, for the worker to link its span to. */
  traceContext?: Record<string, string>;
}

export interface EnqueueResult {
  job: Job;
  /** false when an earlier request with the same idempotency key made the job (a replay). */
  created: boolean;
}

const MAX_KEY_ROUNDS = 3;

/**
 * Creates a job, its first event (`queued`, seq 1) and its graphile-worker queue entry in one
 * statement on `client`; call it inside the caller's transaction so all three commit or none does.
 *
 * With an idempotency key, a concurrent duplicate's INSERT waits on the unique index until the first
 * transaction ends: if it committed, this returns that job (`created: false`); if it rolled back,
 * this one creates the job. A key whose period expired is released (the old job keeps running but
 * loses its key) and the new request gets a new job. A live key with another request hash throws
 * IdempotencyKeyReusedError.
 */
export async function enqueueJob(client: Queryable, input: EnqueueInput): Promise<EnqueueResult> {
  validate(input);
  const hash = input.requestHash ?? requestHash({ type: input.type, payload: input.payload });
  const key = input.idempotencyKey ?? null;
  for (let round = 0; round < MAX_KEY_ROUNDS; round++) {
    const inserted = await client.query<JobRow>(
      `WITH job AS (
         INSERT INTO tether_jobs (owner, type, payload, idempotency_key, request_hash, idempotency_expires_at,
                                  trace_context, last_seq)
         VALUES ($1, $2, $3::jsonb, $4, $5, CASE WHEN $4::text IS NULL THEN NULL
                 ELSE now() + $6::bigint * interval '1 millisecond' END, $7::jsonb, 1)
         ON CONFLICT (owner, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
         RETURNING ${JOB_COLUMNS}
       ),
       event AS (
         INSERT INTO tether_job_events (job_id, seq, type, data) SELECT id, 1, 'queued', '{}'::jsonb FROM job
         RETURNING job_id
       ),
       queued AS (
         SELECT graphile_worker.add_job($8, json_build_object('jobId', id, 'type', type),
                                        max_attempts := $9::integer, job_key := id::text) AS entry
         FROM job
       )
       SELECT job.* FROM job JOIN event ON event.job_id = job.id CROSS JOIN queued`,
      [
        input.owner,
        input.type,
        JSON.stringify(input.payload),
        key,
        key === null ? null : hash,
        input.idempotencyTtlMs ?? DEFAULT_IDEMPOTENCY_TTL_MS,
        input.traceContext ? JSON.stringify(input.traceContext) : null,
        QUEUE_TASK,
        input.maxAttempts ?? DEFAULT_QUEUE_MAX_ATTEMPTS,
      ],
    );
    if (inserted.rows[0]) return { job: toJob(inserted.rows[0]), created: true };

    const existing = await client.query<JobRow & { request_hash: string | null; expired: boolean }>(
      `SELECT ${JOB_COLUMNS}, request_hash, idempotency_expires_at <= now() AS expired
       FROM tether_jobs WHERE owner = $1 AND idempotency_key = $2 FOR UPDATE`,
      [input.owner, key],
    );
    const row = existing.rows[0];
    if (!row) continue; // its key was released between our two statements: insert again
    if (row.expired) {
      await client.query('UPDATE tether_jobs SET idempotency_key = NULL WHERE id = $1', [row.id]);
      continue;
    }
    if (row.request_hash !== hash) throw new IdempotencyKeyReusedError(row.id);
    return { job: toJob(row), created: false };
  }
  // Only reachable if the key is released and re-taken by others in every round.
  throw new Error(`enqueueJob: idempotency key kept changing hands for ${MAX_KEY_ROUNDS} rounds`);
}

function validate(input: EnqueueInput): void {
  if (typeof input.owner !== 'string' || input.owner === '')
    throw new JobsInputError('owner: must be a non-empty string');
  if (typeof input.type !== 'string' || input.type === '')
    throw new JobsInputError('type: must be a non-empty string');
  if (input.payload === null || typeof input.payload !== 'object' || Array.isArray(input.payload)) {
    throw new JobsInputError('payload: must be a JSON object');
  }
  if (
    input.idempotencyKey !== undefined &&
    (typeof input.idempotencyKey !== 'string' || input.idempotencyKey === '')
  ) {
    throw new JobsInputError('idempotencyKey: must be a non-empty string');
  }
  const ttl = input.idempotencyTtlMs;
  if (ttl !== undefined && (!Number.isInteger(ttl) || ttl < 1)) {
    throw new JobsInputError('idempotencyTtlMs: must be a positive integer');
  }
  const attempts = input.maxAttempts;
  if (attempts !== undefined && (!Number.isInteger(attempts) || attempts < 1 || attempts > 32767)) {
    throw new JobsInputError('maxAttempts: must be an integer from 1 to 32767');
  }
}
