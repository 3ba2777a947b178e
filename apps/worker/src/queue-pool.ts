import type { TetherPgPool } from '@tether/pooling';
import { classify, createBackoff } from '@tether/retry';
import type pg from 'pg';

/**
 * The pg.Pool face graphile-worker uses (`connect`, listeners, `end`), over the @tether/pooling pool,
 * so the queue shares its connections, keepalive, timeouts and error listeners. One change: connect()
 * waits out a Postgres restart (retrying refused or not-yet-accepting connections until
 * `connectDeadlineMs`) instead of failing at once. graphile-worker does not retry completing or
 * failing a job after such an error; it stops its pool ("queue is in an inconsistent state").
 * `end()` is a no-op: the pool belongs to the app and is drained by its shutdown hook.
 */
export function queuePool(db: TetherPgPool, connectDeadlineMs = 60_000): pg.Pool {
  const pool = db.pool;
  const adapter = {
    async connect(): Promise<pg.PoolClient> {
      const deadline = performance.now() + connectDeadlineMs;
      const backoff = createBackoff({ initialDelayMs: 100, maxDelayMs: 2_000 });
      for (;;) {
        try {
          return await pool.connect();
        } catch (error) {
          // Nothing was sent on a connection that never opened: waiting is always safe.
          if (classify(error).kind !== 'transient' || db.isDraining || performance.now() > deadline)
            throw error;
          await new Promise((r) => setTimeout(r, backoff.next()));
        }
      }
    },
    query: pool.query.bind(pool),
    on(event: string, listener: (...args: unknown[]) => void) {
      pool.on(event as 'error', listener);
      return adapter;
    },
    removeListener(event: string, listener: (...args: unknown[]) => void) {
      pool.removeListener(event as 'error', listener);
      return adapter;
    },
    listeners: (event: string) => pool.listeners(event as 'error'),
    end: () => Promise.resolve(),
  };
  return adapter as unknown as pg.Pool;
}
