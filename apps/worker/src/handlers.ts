import { setTimeout as sleep } from 'node:timers/promises';
import { PermanentJobError, TransientJobError } from './job-errors.ts';

/** What a handler gets for one run of a job. */
export interface JobContext {
  jobId: string;
  payload: Record<string, unknown>;
  /** 1 on the first run; counts every run, including those a dead worker started. */
  attempt: number;
  /** Aborts on cancel, on shutdown past the budget, or when the lease was lost: stop at once. */
  signal: AbortSignal;
  /** Records progress (the job's `progress` and a `progress` event) in Postgres. */
  progress(data: Record<string, unknown>): Promise<void>;
}

/** A job type's code; its return value becomes the job's `result`. */
export type JobHandler = (ctx: JobContext) => Promise<Record<string, unknown>>;

function nonNegativeInteger(
  payload: Record<string, unknown>,
  field: string,
  fallback: number,
  max: number,
): number {
  const value = payload[field] ?? fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > max)
    throw new PermanentJobError(`payload.${field} must be an integer from 0 to ${max}`);
  return value;
}

/** The demo job types of docs/architecture.md. */
export const demoHandlers: Record<string, JobHandler> = {
  /** Sleeps `ms` in `steps` equal parts, reporting progress after each. */
  async 'demo.sleep'(ctx) {
    const ms = nonNegativeInteger(ctx.payload, 'ms', 1_000, 3_600_000);
    const steps = nonNegativeInteger(ctx.payload, 'steps', 1, 10_000) || 1;
    for (let step = 1; step <= steps; step++) {
      await sleep(ms / steps, undefined, { signal: ctx.signal });
      await ctx.progress({ step, steps });
    }
    return { sleptMs: ms, steps };
  },
  /** Fails permanently with `message`. */
  async 'demo.fail'(ctx) {
    const message = typeof ctx.payload.message === 'string' ? ctx.payload.message : 'demo.fail';
    throw new PermanentJobError(message);
  },
  /** Fails transiently on its first `failTimes` runs, then succeeds. */
  async 'demo.flaky'(ctx) {
    const failTimes = nonNegativeInteger(ctx.payload, 'failTimes', 1, 100);
    if (ctx.attempt <= failTimes)
      throw new TransientJobError(
        `demo.flaky: failing on purpose (run ${ctx.attempt} of ${failTimes} failures)`,
      );
    return { attempts: ctx.attempt };
  },
};
