/**
 * "Nothing lost, nothing twice", checked in Postgres (the record) and against what the WebSocket
 * clients received: each accepted POST has exactly one job, which ran exactly once (a second run
 * repeats the job's non-idempotent side effects: its progress events), and every follower got each of
 * the job's events exactly once, in order.
 */
import type { EphemeralPostgres } from '@tether/devstack';
import type { Followers } from './followers.ts';
import type { RequestRecord } from './load.ts';

export interface JobLedger {
  accepted: number;
  /** Accepted jobs missing from the database, or not finished when the scenario settled. */
  lost: number;
  /** Accepted requests that produced more than one job. */
  duplicated: number;
  /** Jobs that ran more than once (their side effects repeated). */
  rerun: number;
  /** Jobs created for a POST whose client gave up (the client saw a failure). */
  unacknowledged: number;
  /** Job ids followed over WebSocket. */
  followed: number;
  /** Events a follower never received. */
  missedEvents: number;
  /** Events a follower received more than once. */
  duplicatedEvents: number;
  /** Followers that received a job's events out of order. */
  outOfOrder: number;
  /** A few lost/rerun job ids, for a person to look at. */
  examples: string[];
}

interface JobRow extends Record<string, unknown> {
  id: string;
  key: string;
  status: string;
  last_seq: number;
  runs: number;
}

async function jobRows(postgres: EphemeralPostgres, keyPrefix: string): Promise<JobRow[]> {
  return postgres.sql<JobRow>(
    `SELECT j.id::text AS id, j.idempotency_key AS key, j.status, j.last_seq,
            (SELECT count(*)::int FROM tether_job_events e WHERE e.job_id = j.id AND e.type = 'running') AS runs
       FROM tether_jobs j WHERE j.idempotency_key LIKE $1`,
    [`${keyPrefix}-%`],
  );
}

const TERMINAL = new Set(['succeeded', 'failed', 'cancelled']);

/**
 * Waits (up to `settleMs`) until every job of the scenario is finished and its followers have its last
 * event, then compares.
 */
export async function checkJobs(
  postgres: EphemeralPostgres,
  keyPrefix: string,
  requests: RequestRecord[],
  followers: Followers | undefined,
  settleMs: number,
): Promise<JobLedger> {
  const deadline = Date.now() + settleMs;
  let rows = await jobRows(postgres, keyPrefix);
  for (;;) {
    const settled = rows.every(
      (r) => TERMINAL.has(r.status) && (!followers?.received.has(r.id) || followers.hasAll(r.id, r.last_seq)),
    );
    if (settled || Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 250));
    rows = await jobRows(postgres, keyPrefix);
  }
  const byKey = new Map<string, JobRow[]>();
  for (const row of rows) byKey.set(row.key, [...(byKey.get(row.key) ?? []), row]);
  const posts = requests.filter((r) => r.kind === 'post' && r.key);
  const accepted = posts.filter((r) => r.ok);
  const examples: string[] = [];
  let lost = 0;
  let duplicated = 0;
  for (const request of accepted) {
    const found = byKey.get(request.key as string) ?? [];
    const mine = found.find((r) => r.id === request.jobId);
    if (!mine || mine.status !== 'succeeded') {
      lost++;
      if (examples.length < 5) examples.push(`lost ${request.jobId} (${mine?.status ?? 'missing'})`);
    }
    if (found.length > 1) duplicated++;
  }
  const rerunRows = rows.filter((r) => r.runs > 1);
  for (const r of rerunRows.slice(0, 3)) examples.push(`ran ${r.runs}x ${r.id}`);
  const failedKeys = new Set(posts.filter((r) => !r.ok).map((r) => r.key));
  const ledger: JobLedger = {
    accepted: accepted.length,
    lost,
    duplicated,
    rerun: rerunRows.length,
    unacknowledged: rows.filter((r) => failedKeys.has(r.key)).length,
    followed: 0,
    missedEvents: 0,
    duplicatedEvents: 0,
    outOfOrder: 0,
    examples,
  };
  if (!followers) return ledger;
  const lastSeq = new Map(rows.map((r) => [r.id, r.last_seq]));
  for (const [jobId, byClient] of followers.received) {
    ledger.followed++;
    const last = lastSeq.get(jobId) ?? 0;
    for (const ids of byClient.values()) {
      const seqs = ids.map(Number);
      const unique = new Set(seqs);
      ledger.duplicatedEvents += seqs.length - unique.size;
      for (let seq = 1; seq <= last; seq++) if (!unique.has(seq)) ledger.missedEvents++;
      if (seqs.some((s, i) => i > 0 && s <= (seqs[i - 1] as number))) ledger.outOfOrder++;
    }
  }
  return ledger;
}
