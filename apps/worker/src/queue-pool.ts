import type { TetherPgPool } from '@tether/pooling';
import { classify } from '@tether/retry';
import type pg from 'pg';
import { retryWhile } from './resend.ts';

/**
 * The pg.Pool face graphile-worker uses (`connect`, listeners, `end`), over the @tether/pooling pool,
 * so the queue shares its connections, keepalive, timeouts and error listeners. Two changes make it
 * ride out a Postgres restart, which graphile-worker 0.18 does not: recording a job's outcome is
 * tried once, and a failure stops its pool for good ("queue is in an inconsistent state").
 *
 * - connect() waits (retrying refused or not-yet-accepting connections) until `deadlineMs`.
 * - Its outcome statements (the prepared `complete_job…` / `fail_job…`: a DELETE by id, an UPDATE
 *   guarded by `locked_by`, both harmless to repeat) are re-run on a fresh connection when the
 *   connection broke under them.
 *
 * `end()` is a no-op: the pool belongs to the app and is drained by its shutdown hook.
 */
export function queuePool(db: TetherPgPool, deadlineMs = 60_000): pg.Pool {
  const pool = db.pool;

  const retrying = <T>(attempt: () => Promise<T>): Promise<T> =>
    retryWhile(attempt, (error) => classify(error).kind === 'transient' && !db.isDraining, deadlineMs, {
      initialDelayMs: 100,
      maxDelayMs: 2_000,
    });

  const connect = () => retrying(() => pool.connect());

  async function recordOutcome(client: pg.PoolClient, config: pg.QueryConfig): Promise<pg.QueryResult> {
    try {
      return await client.query(config);
    } catch (error) {
      if (classify(error).kind !== 'transient') throw error;
      return retrying(async () => {
        const fresh = await pool.connect();
        try {
          return await fresh.query(config);
        } finally {
          fresh.release();
        }
      });
    }
  }

  const wrap = (client: pg.PoolClient): pg.PoolClient =>
    new Proxy(client, {
      get(target, prop) {
        if (prop === 'query')
          return (config: unknown, values?: unknown[]) =>
            isOutcomeStatement(config) && values === undefined
              ? recordOutcome(target, config)
              : target.query(config as string, values);
        const value = Reflect.get(target, prop, target) as unknown;
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });

  const adapter = {
    /**
     * Both of pg.Pool's forms. graphile-worker takes its LISTEN client with the callback form
     * (`connect((err, client, release) => …)`): ignoring the callback would leave the worker deaf to
     * `jobs:insert` (new jobs found only by polling) and leak the client it never received.
     */
    connect(callback?: ConnectCallback): Promise<pg.PoolClient> | undefined {
      const connected = connect().then(wrap);
      if (!callback) return connected;
      connected.then(
        (client) => callback(undefined, client, (error) => client.release(error)),
        (error: Error) => callback(error, undefined, () => {}),
      );
      return undefined;
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

type ConnectCallback = (
  error: Error | undefined,
  client: pg.PoolClient | undefined,
  release: (error?: Error | boolean) => void,
) => void;

function isOutcomeStatement(config: unknown): config is pg.QueryConfig {
  const name = (config as { name?: unknown } | null)?.name;
  return typeof name === 'string' && /^(complete_job|fail_job)/.test(name);
}
