/** A job's lifecycle. `queued` and `running` are live; the other three are final. */
export const JOB_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

export const FINAL_STATUSES: readonly JobStatus[] = ['succeeded', 'failed', 'cancelled'];

/** Every state change and every progress report is one event. */
export const JOB_EVENT_TYPES = ['queued', 'running', 'progress', 'succeeded', 'failed', 'cancelled'] as const;
export type JobEventType = (typeof JOB_EVENT_TYPES)[number];

/**
 * What the functions of this lib need from Postgres: a pg `PoolClient` (inside the caller's
 * transaction), a `pg.Pool`, or a `@tether/pooling` pool / transaction client all fit.
 */
export interface Queryable {
  query<R extends Record<string, any>>( // eslint-disable-line @typescript-eslint/no-explicit-any -- pg's QueryResultRow
    text: string,
    values?: unknown[],
  ): Promise<{ rows: R[]; rowCount: number | null }>;
}

export interface Job {
  id: string;
  owner: string;
  type: string;
  payload: Record<string, unknown>;
  status: JobStatus;
  /** The latest progress report (whatever the handler reported), null before the first. */
  progress: unknown;
  result: unknown;
  error: unknown;
  /** How many times a worker started this job. */
  attempts: number;
  /** Sequence number of the job's latest event (its first event, `queued`, is 1). */
  lastSeq: number;
  createdAt: Date;
  updatedAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  cancelRequestedAt: Date | null;
  idempotencyKey: string | null;
  idempotencyExpiresAt: Date | null;
}

export interface JobEvent {
  jobId: string;
  /** Per-job sequence number: 1, 2, 3 … gap-free, in commit order. The public event id. */
  seq: number;
  type: JobEventType;
  data: Record<string, unknown>;
  createdAt: Date;
}
