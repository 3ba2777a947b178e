/**
 * "Nothing lost, nothing twice", checked in Postgres (the record) and against what the WebSocket
 * clients received: each accepted POST has exactly one job, which ran exactly once (a second run
 * repeats the job's non-idempotent side effects: its progress events), and every follower got each of
 * the job's events exactly once, in order.
 *
 * Where a fault outlasts the worker's lease (a partition longer than the TTL, a killed worker) a job
 * may run twice by design (at-least-once): the cut-off run cannot prove it still owns the job. The
 * ledger then shows whether that was safe, from each job's event log: every re-run came right after
 * the sweeper's "lease expired" requeue, the old run wrote nothing after it (fencing token), no job
 * finished twice, and the log has no gaps.
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
  /**
   * Second and later runs (`running` events) not directly preceded by the sweeper's `queued` event
   * "lease expired": a re-run that did not take the job away from a fenced first attempt.
   */
  rerunsWithoutLeaseExpiry: number;
  /**
   * Second and later runs not directly preceded by a `queued` event of any reason (the sweeper's
   * lease expiry, the worker's own retry, a hand-off at shutdown): a run that started while the job
   * had not been taken back from the one before.
   */
  rerunsWithoutRequeue: number;
  /**
   * Events a run wrote after it lost the job: anything between a requeue and the next `running`
   * event, a progress step out of its run's order (1, 2, 3, … per run: a late write of the old run
   * shows as a repeated or skipped step), anything after the final event.
   */
  fencedRunEvents: number;
  /** Jobs with more than one final event (succeeded, failed, cancelled). */
  completedTwice: number;
  /** Jobs whose event log is not exactly seq 1…last_seq. */
  eventGaps: number;
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

interface EventRow extends Record<string, unknown> {
  job_id: string;
  seq: number;
  type: string;
  data: Record<string, unknown>;
}

/** What one job's event log shows about its runs (see JobLedger). */
export interface RunAudit {
  reruns: number;
  rerunsWithoutLeaseExpiry: number;
  rerunsWithoutRequeue: number;
  fencedRunEvents: number;
  finals: number;
  gap: boolean;
}

/** The sweeper's reason on the `queued` event of a job whose lease ran out (apps/worker sweeper.ts). */
const LEASE_EXPIRED = /^lease expired/;

/**
 * Reads one job's event log (ordered by seq) run by run. Events carry no run id, so a late write of a
 * fenced run is recognised by where it lands: after a requeue before the next `running`, out of its
 * run's step order (demo.sleep reports steps 1…n), or after the final event.
 */
export function auditRuns(events: { seq: number; type: string; data: Record<string, unknown> }[]): RunAudit {
  const audit: RunAudit = {
    reruns: 0,
    rerunsWithoutLeaseExpiry: 0,
    rerunsWithoutRequeue: 0,
    fencedRunEvents: 0,
    finals: 0,
    gap: false,
  };
  let runs = 0;
  let inRun = false;
  let step = 0;
  let previous: (typeof events)[number] | undefined;
  for (const [i, event] of events.entries()) {
    if (event.seq !== i + 1) audit.gap = true;
    // An event counts once however many of the rules below it breaks.
    let fenced = audit.finals > 0;
    if (event.type === 'running') {
      runs++;
      if (runs > 1) {
        audit.reruns++;
        const reason = previous?.type === 'queued' ? String(previous.data.reason ?? '') : '';
        if (!LEASE_EXPIRED.test(reason)) audit.rerunsWithoutLeaseExpiry++;
        if (previous?.type !== 'queued') audit.rerunsWithoutRequeue++;
      }
      inRun = true;
      step = 0;
    } else if (event.type === 'queued') {
      inRun = false;
    } else if (event.type === 'progress') {
      if (!inRun) fenced = true;
      else if (typeof event.data.step === 'number') {
        if (event.data.step !== step + 1) fenced = true;
        step = event.data.step;
      }
    } else if (TERMINAL.has(event.type)) {
      audit.finals++;
      if (!inRun && event.type !== 'cancelled') fenced = true;
      inRun = false;
    }
    if (fenced) audit.fencedRunEvents++;
    previous = event;
  }
  return audit;
}

async function eventRows(postgres: EphemeralPostgres, keyPrefix: string): Promise<EventRow[]> {
  return postgres.sql<EventRow>(
    `SELECT e.job_id::text AS job_id, e.seq, e.type, e.data FROM tether_job_events e
       JOIN tether_jobs j ON j.id = e.job_id
      WHERE j.idempotency_key LIKE $1 ORDER BY e.job_id, e.seq`,
    [`${keyPrefix}-%`],
  );
}

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
  const logs = new Map<string, EventRow[]>();
  for (const event of await eventRows(postgres, keyPrefix))
    logs.set(event.job_id, [...(logs.get(event.job_id) ?? []), event]);
  const audits = rows.map((r) => ({ row: r, audit: auditRuns(logs.get(r.id) ?? []) }));
  for (const { row, audit } of audits) {
    if (audit.gap || row.last_seq !== (logs.get(row.id)?.length ?? 0)) audit.gap = true;
    if (
      (audit.rerunsWithoutRequeue || audit.fencedRunEvents || audit.finals > 1 || audit.gap) &&
      examples.length < 8
    )
      examples.push(
        `unsafe log ${row.id}: ${(logs.get(row.id) ?? []).map((e) => (e.type === 'progress' ? `p${String(e.data.step)}` : e.type)).join(' ')}`,
      );
  }
  const sum = (f: (a: RunAudit) => number) => audits.reduce((n, { audit }) => n + f(audit), 0);
  const ledger: JobLedger = {
    accepted: accepted.length,
    lost,
    duplicated,
    rerun: rerunRows.length,
    rerunsWithoutLeaseExpiry: sum((a) => a.rerunsWithoutLeaseExpiry),
    rerunsWithoutRequeue: sum((a) => a.rerunsWithoutRequeue),
    fencedRunEvents: sum((a) => a.fencedRunEvents),
    completedTwice: sum((a) => (a.finals > 1 ? 1 : 0)),
    eventGaps: sum((a) => (a.gap ? 1 : 0)),
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
