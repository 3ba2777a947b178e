/**
 * The load loops every benchmark uses: closed-loop saturation and an open-loop fixed arrival rate
 * (latency counted from the scheduled start, so queueing is not hidden), folded into a Measurement.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { type Measurement, percentile } from './report.ts';

export type Op = () => Promise<unknown>;

export interface Tally {
  latenciesMs: number[];
  errors: number;
  ops: number;
  elapsedMs: number;
}

/** `callers` loops issuing `op` back to back for `durationMs`. */
export async function saturate(op: Op, callers: number, durationMs: number, tally: Tally): Promise<void> {
  const startedAt = performance.now();
  const endAt = startedAt + durationMs;
  await Promise.all(
    Array.from({ length: callers }, async () => {
      while (performance.now() < endAt) {
        const t0 = performance.now();
        try {
          await op();
        } catch {
          tally.errors++;
        }
        tally.latenciesMs.push(performance.now() - t0);
        tally.ops++;
      }
    }),
  );
  tally.elapsedMs += performance.now() - startedAt;
}

/** Starts `op` every 1/rate s for `durationMs` without waiting for earlier ones. */
export async function fixedRate(op: Op, perSecond: number, durationMs: number, tally: Tally): Promise<void> {
  const startedAt = performance.now();
  const intervalMs = 1000 / perSecond;
  const pending: Promise<void>[] = [];
  let scheduled = startedAt;
  while (scheduled < startedAt + durationMs) {
    // Issue everything that is due (timers fire late on a busy machine; the schedule does not slip).
    while (scheduled <= performance.now() && scheduled < startedAt + durationMs) {
      const due = scheduled;
      pending.push(
        op().then(
          () => {
            tally.latenciesMs.push(performance.now() - due);
            tally.ops++;
          },
          () => {
            tally.errors++;
            tally.ops++;
          },
        ),
      );
      scheduled += intervalMs;
    }
    await sleep(Math.max(0, Math.min(5, scheduled - performance.now())));
  }
  await Promise.all(pending);
  tally.elapsedMs += performance.now() - startedAt;
}

export function measurement(t: Tally): Measurement {
  return {
    throughput: (t.ops - t.errors) / (t.elapsedMs / 1000),
    p50Ms: percentile(t.latenciesMs, 50),
    p99Ms: percentile(t.latenciesMs, 99),
    errors: t.errors,
  };
}

export function emptyTally(): Tally {
  return { latenciesMs: [], errors: 0, ops: 0, elapsedMs: 0 };
}
