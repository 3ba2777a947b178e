import type { Job, JobEvent, JobEventType, JobStatus } from './types.ts';

/** The columns every query that returns a Job selects (one list, so mapping never drifts). */
export const JOB_COLUMNS = `id, owner, type, payload, status, progress, result, error, attempts, last_seq,
  created_at, updated_at, started_at, finished_at, cancel_requested_at, idempotency_key, idempotency_expires_at`;

export const EVENT_COLUMNS = 'job_id, seq, type, data, created_at';

export interface JobRow {
  id: string;
  owner: string;
  type: string;
  payload: Record<string, unknown>;
  status: JobStatus;
  progress: unknown;
  result: unknown;
  error: unknown;
  attempts: number;
  last_seq: number;
  created_at: Date;
  updated_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
  cancel_requested_at: Date | null;
  idempotency_key: string | null;
  idempotency_expires_at: Date | null;
}

export interface EventRow {
  job_id: string;
  seq: number;
  type: JobEventType;
  data: Record<string, unknown>;
  created_at: Date;
}

export function toJob(row: JobRow): Job {
  return {
    id: row.id,
    owner: row.owner,
    type: row.type,
    payload: row.payload,
    status: row.status,
    progress: row.progress,
    result: row.result,
    error: row.error,
    attempts: row.attempts,
    lastSeq: row.last_seq,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    cancelRequestedAt: row.cancel_requested_at,
    idempotencyKey: row.idempotency_key,
    idempotencyExpiresAt: row.idempotency_expires_at,
  };
}

export function toEvent(row: EventRow): JobEvent {
  return { jobId: row.job_id, seq: row.seq, type: row.type, data: row.data, createdAt: row.created_at };
}
