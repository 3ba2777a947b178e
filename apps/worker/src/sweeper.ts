import { QUEUE_TASK, transition } from '@tether/jobs';
import type { TetherPgPool } from '@tether/pooling';
import { issueQueueEntry } from './requeue.ts';

export interface SweepResult {
  /** Jobs whose lease ran out, put back to `queued` with a fresh queue entry. */
  requeued: string[];
  /** Queued jobs that had no queue entry able to run them, given a fresh one. */
  reissued: string[];
}

/**
 * Dead-worker recovery. graphile-worker keeps a killed worker's job locked for 4 hours; this runs in
 * every worker, every `sweepIntervalMs`, and in one transaction:
 *
 * 1. Running jobs whose lease expired (their worker stopped renewing: killed, frozen or cut off) go
 *    back to `queued` with a `queued` event saying why, and get a fresh queue entry. The row lock
 *    taken here makes a racing late renewal or completion of the old worker wait, then fail its
 *    fencing-token check. Within one TTL of a Postgres restart nothing is requeued: no worker could
 *    renew while the server was down, and the live ones renew as soon as they reconnect.
 * 2. Queued jobs without a queue entry that can run them — none at all, one locked for longer than a
 *    lease TTL (its worker died between taking the entry and starting the job, or is stuck), or one
 *    whose attempts are spent — get a fresh entry.
 *
 * It never unlocks an entry (graphile-worker's `force_unlock_workers` frees every entry of a worker
 * pool, the live runs' too, and a freed entry that its old run then completes is deleted under the
 * job that was requeued onto it). A slow job whose worker is alive keeps renewing its lease and is
 * never touched.
 */
export async function sweep(db: TetherPgPool, leaseTtlMs: number): Promise<SweepResult> {
  return db.transaction(
    async (client) => {
      const expired = await client.query<{ id: string; type: string; lease_owner: string | null }>(
        `SELECT id, type, lease_owner FROM tether_jobs
          WHERE status = 'running' AND lease_expires_at < now()
            AND pg_postmaster_start_time() < now() - $1::integer * interval '1 millisecond'
          ORDER BY lease_expires_at LIMIT 100
          FOR UPDATE SKIP LOCKED`,
        [leaseTtlMs],
      );
      const requeued: string[] = [];
      for (const row of expired.rows) {
        const moved = await transition(client, row.id, 'running', 'queued', {
          reason: 'lease expired: its worker stopped renewing it',
          worker: row.lease_owner,
        });
        if (!moved.ok) continue;
        await issueQueueEntry(client, row, 0);
        requeued.push(row.id);
      }
      const orphans = await client.query<{ id: string; type: string }>(
        `SELECT t.id, t.type FROM tether_jobs t
          WHERE t.status = 'queued'
            AND NOT EXISTS (
              SELECT 1 FROM graphile_worker.jobs q
               WHERE q.key = t.id::text AND q.task_identifier = $1 AND q.attempts < q.max_attempts
                 AND (q.locked_at IS NULL OR q.locked_at > now() - $2::integer * interval '1 millisecond'))
          ORDER BY t.updated_at LIMIT 100
          FOR UPDATE OF t SKIP LOCKED`,
        [QUEUE_TASK, leaseTtlMs],
      );
      for (const row of orphans.rows) await issueQueueEntry(client, row, 0);
      return { requeued, reissued: orphans.rows.map((row) => row.id) };
    },
    { name: 'sweep', idempotent: true },
  );
}
