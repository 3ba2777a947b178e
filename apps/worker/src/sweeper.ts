import { QUEUE_TASK, transition } from '@tether/jobs';
import type { TetherPgPool } from '@tether/pooling';

export interface SweepResult {
  /** Jobs whose lease ran out, put back to `queued`. */
  requeued: string[];
  /** graphile-worker worker ids whose queue locks were released. */
  unlocked: string[];
}

/**
 * Dead-worker recovery. graphile-worker keeps a killed worker's job locked for 4 hours; this runs in
 * every worker, every `sweepIntervalMs`, and in one transaction:
 *
 * 1. Running jobs whose lease expired (their worker stopped renewing: killed, frozen or cut off) go
 *    back to `queued` with a `queued` event saying why. The row lock taken here makes a racing late
 *    renewal or completion of the old worker wait, then fail its fencing-token check.
 * 2. The queue entries those workers held, and any entry locked longer than a lease TTL by a worker
 *    that holds no live lease on its job (it died between taking the entry and starting the job), are
 *    unlocked with graphile-worker's `force_unlock_workers`, so the next poll runs them again.
 *
 * A slow job whose worker is alive keeps renewing its lease and is never touched.
 */
export async function sweep(db: TetherPgPool, leaseTtlMs: number): Promise<SweepResult> {
  return db.transaction(
    async (client) => {
      const expired = await client.query<{ id: string; lease_owner: string | null }>(
        `SELECT id, lease_owner FROM tether_jobs
          WHERE status = 'running' AND lease_expires_at < now()
          ORDER BY lease_expires_at LIMIT 100
          FOR UPDATE SKIP LOCKED`,
      );
      const owners = new Set<string>();
      const requeued: string[] = [];
      for (const row of expired.rows) {
        const moved = await transition(client, row.id, 'running', 'queued', {
          reason: 'lease expired: its worker stopped renewing it',
          worker: row.lease_owner,
        });
        if (moved.ok) requeued.push(row.id);
        if (row.lease_owner) owners.add(row.lease_owner);
      }
      const stale = await client.query<{ locked_by: string }>(
        `SELECT DISTINCT q.locked_by FROM graphile_worker.jobs q
           LEFT JOIN tether_jobs t ON t.id::text = q.key
          WHERE q.task_identifier = $1 AND q.locked_by IS NOT NULL
            AND q.locked_at < now() - $2::integer * interval '1 millisecond'
            AND NOT coalesce(t.status = 'running' AND t.lease_owner = q.locked_by
                             AND t.lease_expires_at > now(), false)`,
        [QUEUE_TASK, leaseTtlMs],
      );
      for (const row of stale.rows) owners.add(row.locked_by);
      const unlocked = [...owners];
      if (unlocked.length > 0)
        await client.query('SELECT graphile_worker.force_unlock_workers($1::text[])', [unlocked]);
      return { requeued, unlocked };
    },
    { name: 'sweep', idempotent: true },
  );
}
