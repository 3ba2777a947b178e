import type { Queryable } from './types.ts';

/**
 * The Redis Stream every job event is relayed to (one stream for all jobs: each gateway reads all of
 * it with one blocking XREAD loop and routes in memory). Entry fields: see `StreamEntry`.
 */
export const JOB_EVENTS_STREAM = 'tether:job-events';

/** Default approximate length the relay trims the stream to (`XADD … MAXLEN ~`). */
export const DEFAULT_STREAM_MAXLEN = 100_000;

/** One stream entry; every field is a string in Redis (`data` is JSON, `ts` ISO 8601). */
export interface StreamEntry {
  jobId: string;
  /** The job's own event sequence number: the public event id, gap-free and ordered per job. */
  seq: string;
  type: string;
  /** The job's owner (JWT `sub`), so a reader can filter without asking Postgres. */
  owner: string;
  data: string;
  ts: string;
}

/** Appends entries to the stream in the order given; throws unless every one was appended. */
export type StreamWriter = (entries: StreamEntry[]) => Promise<void>;

/** Advisory lock that makes one relay batch at a time run, whichever worker runs it. */
const RELAY_LOCK = 7_341_190_012;

export interface RelayBatchResult {
  /** false when another relay held the lock: nothing was read. */
  leader: boolean;
  relayed: number;
}

/**
 * Relays up to `limit` unrelayed events to the stream and marks them relayed. Call it on the client
 * of a transaction: the marks commit only if `write` succeeded, so a failed or unknown write sends the
 * batch again later (at least once; readers drop a `seq` they already have).
 *
 * Per-job order: a job's events are written under its row lock, so event n+1 is inserted only after
 * event n committed, and its `id` is larger. Reading the backlog by `id` therefore returns each
 * job's unrelayed events as a gap-free, ordered run, and the transaction-scoped advisory lock keeps
 * two relays from interleaving two batches.
 */
export async function relayBatch(
  client: Queryable,
  write: StreamWriter,
  limit = 500,
): Promise<RelayBatchResult> {
  const lock = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_xact_lock($1) AS locked', [
    RELAY_LOCK,
  ]);
  if (!lock.rows[0]?.locked) return { leader: false, relayed: 0 };
  const { rows } = await client.query<{
    id: string;
    job_id: string;
    seq: number;
    type: string;
    owner: string;
    data: unknown;
    created_at: Date;
  }>(
    `SELECT e.id, e.job_id, e.seq, e.type, j.owner, e.data, e.created_at
       FROM tether_job_events e JOIN tether_jobs j ON j.id = e.job_id
      WHERE e.relayed_at IS NULL
      ORDER BY e.id
      LIMIT $1`,
    [limit],
  );
  if (rows.length === 0) return { leader: true, relayed: 0 };
  await write(
    rows.map((row) => ({
      jobId: row.job_id,
      seq: String(row.seq),
      type: row.type,
      owner: row.owner,
      data: JSON.stringify(row.data),
      ts: row.created_at.toISOString(),
    })),
  );
  await client.query('UPDATE tether_job_events SET relayed_at = now() WHERE id = ANY($1::bigint[])', [
    rows.map((row) => row.id),
  ]);
  return { leader: true, relayed: rows.length };
}
