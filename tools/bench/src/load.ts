/**
 * The load loops every benchmark uses: closed-loop saturation and an open-loop fixed arrival rate
 * (latency counted from the scheduled start, so queueing is not hidden: coordinated omission is
 * counted), folded into a Measurement. `fixedRateInChild` and `fixedRateHttp` run the fixed-rate
 * loop in a process of its own, so the load generator neither shares an event loop with the code it
 * measures nor with the benchmark's bookkeeping.
 */
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { type Measurement, percentile } from './report.ts';

/**
 * One operation. A fixed-rate run passes the time it was due (`performance.now()` clock) and, when
 * the op resolves to `{ marks }`, records each mark (a `performance.now()` time at which a milestone
 * was reached, e.g. "first event") as a latency from that due time too.
 */
export type Op = (dueMs?: number) => Promise<unknown>;

/** What an op may resolve to: named milestones, `performance.now()` times. */
export interface Marks {
  marks: Record<string, number>;
}

export interface Tally {
  latenciesMs: number[];
  errors: number;
  ops: number;
  elapsedMs: number;
  /** latency from the due time to each named mark an op reported (fixed rate only) */
  marksMs?: Record<string, number[]>;
}

function recordMarks(tally: Tally, value: unknown, due: number): void {
  const marks = (value as Partial<Marks> | undefined)?.marks;
  if (!marks || typeof marks !== 'object') return;
  tally.marksMs ??= {};
  for (const [name, at] of Object.entries(marks)) (tally.marksMs[name] ??= []).push(at - due);
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
        op(due).then(
          (value) => {
            tally.latenciesMs.push(performance.now() - due);
            recordMarks(tally, value, due);
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
    samples: t.latenciesMs,
  };
}

export function emptyTally(): Tally {
  return { latenciesMs: [], errors: 0, ops: 0, elapsedMs: 0, marksMs: {} };
}

/** A fixed-rate run in a child process: the op comes from a module the child imports. */
export interface ChildLoadOptions {
  /** the module (path or file URL) exporting the op factory */
  module: string | URL;
  /** the factory's export name, `(args) => Op | Promise<Op>`; default `createOp` */
  exportName?: string;
  /** passed to the factory (structured-cloneable) */
  args?: unknown;
  perSecond: number;
  durationMs: number;
  /** a run at the same rate first, not counted (JIT, connections), ms; default 0 */
  warmupMs?: number;
}

/** The message the child sends back. */
export type ChildLoadResult = { tally: Tally } | { error: string };

/**
 * Runs `fixedRate` in a fresh process and returns its tally. The factory may set up connections
 * (they are made before the clock starts) and export `close` beside it to tear them down.
 */
export async function fixedRateInChild(options: ChildLoadOptions): Promise<Tally> {
  const child = fork(fileURLToPath(new URL('./load-child.ts', import.meta.url)), {
    execArgv: ['--conditions=@tether/source'],
    serialization: 'advanced',
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = once(child, 'exit');
  child.send({
    ...options,
    module: options.module instanceof URL ? fileURLToPath(options.module) : options.module,
  });
  const reply = (await Promise.race([
    once(child, 'message').then(([m]) => m as ChildLoadResult),
    exited.then(([code]) => ({ error: `load generator exited with code ${code} before reporting` })),
  ])) as ChildLoadResult;
  if (child.exitCode === null) child.kill('SIGTERM');
  if ('error' in reply) throw new Error(`fixed-rate load generator: ${reply.error}`);
  return reply.tally;
}

/** An HTTP request for `fixedRateHttp`; any other status than `expectStatus` counts as an error. */
export interface HttpRequestSpec {
  url: string;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  /** default 200 */
  expectStatus?: number;
}

/** Open-loop HTTP load at `perSecond` from a child process (keep-alive connections, as many as needed). */
export function fixedRateHttp(
  request: HttpRequestSpec,
  perSecond: number,
  durationMs: number,
  warmupMs = 0,
): Promise<Tally> {
  return fixedRateInChild({
    module: new URL('./http-op.ts', import.meta.url),
    args: request,
    perSecond,
    durationMs,
    warmupMs,
  });
}
