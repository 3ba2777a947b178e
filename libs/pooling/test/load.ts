import { setTimeout as sleep } from 'node:timers/promises';
import type { TetherPgPool } from '../src/index.ts';

export interface LoadResult {
  ok: number;
  errors: unknown[];
  /** `performance.now()` of every success, in completion order. */
  successTimes: number[];
}

/**
 * Starts `op` at a steady rate (about `perSecond`) until `stop()` is called, without waiting for
 * earlier operations; `stop()` resolves when every started operation settled.
 */
export function steadyLoad(
  op: () => Promise<unknown>,
  perSecond: number,
): { result: LoadResult; stop(): Promise<LoadResult> } {
  const result: LoadResult = { ok: 0, errors: [], successTimes: [] };
  const pending = new Set<Promise<unknown>>();
  let running = true;
  const intervalMs = 1000 / perSecond;
  const loop = (async () => {
    let next = performance.now();
    while (running) {
      const p = op().then(
        () => {
          result.ok++;
          result.successTimes.push(performance.now());
        },
        (error: unknown) => {
          result.errors.push(error);
        },
      );
      pending.add(p);
      void p.finally(() => pending.delete(p));
      next += intervalMs;
      const wait = next - performance.now();
      if (wait > 0) await sleep(wait);
    }
  })();
  return {
    result,
    async stop() {
      running = false;
      await loop;
      await Promise.all([...pending]);
      return result;
    },
  };
}

/** Polls `check` every `everyMs` until it is true or `timeoutMs` passes; returns whether it became true. */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  everyMs = 25,
): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (performance.now() > deadline) return false;
    await sleep(everyMs);
  }
}

/** A compact description of errors for assertion messages. */
export function describeErrors(errors: unknown[]): string {
  return errors
    .slice(0, 5)
    .map((e) => `${(e as { code?: string }).code ?? ''} ${(e as Error).message}`)
    .join('; ');
}

/**
 * Checks out `n` connections through the pool and holds each until all are checked out, so none can
 * serve two of the calls (concurrent queries would share one when the machine is slow to open the
 * rest), then releases them idle; returns their backend pids.
 */
export async function warm(pool: TetherPgPool, n: number): Promise<number[]> {
  let arrived = 0;
  let allIn!: () => void;
  const barrier = new Promise<void>((resolve) => (allIn = resolve));
  const pids = await Promise.all(
    Array.from({ length: n }, () => {
      let counted = false; // once per call, also if the pool runs the callback again on a new connection
      return pool.withClient(
        async (c) => {
          const { rows } = await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
          if (!counted) {
            counted = true;
            if (++arrived === n) allIn();
          }
          await barrier;
          return rows[0]?.pid as number;
        },
        { idempotent: true },
      );
    }),
  );
  return pids;
}
