import type { TetherPgPool } from '@tether/pooling';

/** Why a running job's handler was aborted. */
export type AbortReason = 'cancelled' | 'lease-lost' | 'shutdown';

interface Held {
  token: string;
  abort: (reason: AbortReason) => void;
}

export interface LeaseKeeperOptions {
  leaseTtlMs: number;
  leaseRenewMs: number;
  cancelPollMs: number;
  onError: (error: unknown, what: string) => void;
}

/**
 * The leases this process holds on running jobs. It renews them every `leaseRenewMs` (the heartbeat
 * other workers' sweepers read), and every `cancelPollMs` asks which of them have a cancel request.
 * A job whose lease another worker took over (the renewal no longer matches its fencing token), or
 * whose renewals kept failing for a whole TTL (this worker is cut off, so someone else will run it),
 * is aborted with `lease-lost`.
 *
 * Cancel requests are polled instead of LISTENed for: one indexed read per interval for all of this
 * process's jobs, nothing lost while a listener reconnects, and it works through PgBouncer in
 * transaction mode, where LISTEN does not.
 */
export class LeaseKeeper {
  private readonly held = new Map<string, Held>();
  private readonly timers: NodeJS.Timeout[] = [];
  private lastRenewedAt = performance.now();
  private renewing = false;
  private readonly db: TetherPgPool;
  private readonly options: LeaseKeeperOptions;

  constructor(db: TetherPgPool, options: LeaseKeeperOptions) {
    this.db = db;
    this.options = options;
  }

  start(): void {
    this.timers.push(
      setInterval(() => void this.renew(), this.options.leaseRenewMs),
      setInterval(() => void this.pollCancels(), this.options.cancelPollMs),
    );
  }

  stop(): void {
    for (const timer of this.timers) clearInterval(timer);
  }

  hold(jobId: string, token: string, abort: (reason: AbortReason) => void): void {
    if (this.held.size === 0) this.lastRenewedAt = performance.now();
    this.held.set(jobId, { token, abort });
  }

  release(jobId: string): void {
    this.held.delete(jobId);
  }

  private snapshot(): { ids: string[]; tokens: string[] } {
    const ids = [...this.held.keys()];
    return { ids, tokens: ids.map((id) => (this.held.get(id) as Held).token) };
  }

  private lose(jobId: string, reason: AbortReason): void {
    const held = this.held.get(jobId);
    if (!held) return;
    this.held.delete(jobId);
    held.abort(reason);
  }

  private async renew(): Promise<void> {
    if (this.held.size === 0 || this.renewing) return;
    this.renewing = true;
    const { ids, tokens } = this.snapshot();
    // A renewal may take as long as the lease has left: one that needs a fresh connection on a loaded
    // machine (the idle one was reaped) still lands in time, instead of failing at a renewal period
    // and making this worker give its jobs up after a TTL of such failures (they would run twice).
    const deadlineMs = Math.max(
      this.options.leaseRenewMs,
      Math.floor(this.options.leaseTtlMs - (performance.now() - this.lastRenewedAt)),
    );
    try {
      const { rows } = await this.db.query<{ id: string }>(
        `UPDATE tether_jobs j SET lease_expires_at = now() + $3::integer * interval '1 millisecond'
           FROM unnest($1::uuid[], $2::uuid[]) AS l(id, token)
          WHERE j.id = l.id AND j.lease_token = l.token AND j.status = 'running'
          RETURNING j.id`,
        [ids, tokens, this.options.leaseTtlMs],
        { idempotent: true, deadlineMs, name: 'lease.renew' },
      );
      this.lastRenewedAt = performance.now();
      const renewed = new Set(rows.map((row) => row.id));
      for (const [i, id] of ids.entries()) {
        // Only if it is still the same run: the job may have finished and started again meanwhile.
        if (!renewed.has(id) && this.held.get(id)?.token === tokens[i]) this.lose(id, 'lease-lost');
      }
    } catch (error) {
      this.options.onError(error, 'lease renewal');
      // Cut off for a whole TTL: a sweeper elsewhere has requeued these jobs or is about to. Stop
      // working on them; anything this process still writes is refused by the fencing token anyway.
      if (performance.now() - this.lastRenewedAt > this.options.leaseTtlMs)
        for (const id of ids) this.lose(id, 'lease-lost');
    } finally {
      this.renewing = false;
    }
  }

  private async pollCancels(): Promise<void> {
    if (this.held.size === 0) return;
    const { ids } = this.snapshot();
    try {
      const { rows } = await this.db.query<{ id: string }>(
        'SELECT id FROM tether_jobs WHERE id = ANY($1::uuid[]) AND cancel_requested_at IS NOT NULL',
        [ids],
        { deadlineMs: this.options.cancelPollMs * 4, name: 'cancel.poll' },
      );
      for (const row of rows) this.lose(row.id, 'cancelled');
    } catch (error) {
      this.options.onError(error, 'cancel poll');
    }
  }
}
