import type pg from 'pg';

/** The pg-pool internals the gate works through (private, stable since pg-pool 2). */
interface PoolInternals {
  _isFull(): boolean;
  _pulseQueue(): void;
  _pendingQueue: unknown[];
  ending: boolean;
}

/**
 * At most `maxConnecting` connections of one pg.Pool being opened at a time.
 *
 * pg-pool opens a connection for every caller that finds no idle one, up to `max`, all at once.
 * After a restart or while the server reaps idle sessions, every pool of every pod does so together;
 * on a busy CPU the simultaneous server start-ups (a fork and a SCRAM exchange each) then all outlast
 * connectTimeoutMs, are destroyed after the server paid for them, and their retries open as many
 * again: no connection is made until the load goes away. With the gate, callers beyond the limit wait
 * in pg-pool's queue for the next connection made or released, so one new connection serves many.
 *
 * pg-pool asks `_isFull()` before it opens a connection; the gate answers "full" while the limit is
 * reached, and when an opening ends with callers still queued it pulses the queue, which hands them
 * an idle connection or opens the next one.
 */
export class ConnectGate {
  private readonly maxConnecting: number;
  private opening = 0;
  private pool: PoolInternals | undefined;

  constructor(maxConnecting: number) {
    this.maxConnecting = maxConnecting;
  }

  /** Connections being opened now. */
  get connecting(): number {
    return this.opening;
  }

  /** Puts `pool` behind the gate. Throws if pg-pool no longer has the internals it relies on. */
  install(pool: pg.Pool): void {
    const internals = pool as unknown as PoolInternals;
    if (typeof internals._isFull !== 'function' || typeof internals._pulseQueue !== 'function')
      throw new Error(
        'pg-pool lacks _isFull/_pulseQueue: @tether/pooling needs a pg-pool 3.x it was tested with',
      );
    const isFull = internals._isFull.bind(pool);
    internals._isFull = () => isFull() || this.opening >= this.maxConnecting;
    this.pool = internals;
  }

  /** A connection started opening (pg.Client#connect). */
  opened(): void {
    this.opening++;
  }

  /** That opening ended, made or failed: callers still queued get the freed slot. */
  closed(): void {
    this.opening--;
    const pool = this.pool;
    if (!pool) return;
    // After pg-pool's own callback has handed the new connection to the caller it was opened for.
    process.nextTick(() => {
      if (!pool.ending && pool._pendingQueue.length > 0) pool._pulseQueue();
    });
  }
}
