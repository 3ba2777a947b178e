import { randomUUID } from 'node:crypto';
import { reportProgress, transition, type QueuePayload } from '@tether/jobs';
import type { TetherPgPool } from '@tether/pooling';
import { classify, createBackoff } from '@tether/retry';
import type { Lifecycle } from '@tether/shutdown';
import type { Logger } from '@tether/telemetry';
import type { JobHelpers, Task } from 'graphile-worker';
import type { JobHandler } from './handlers.ts';
import { TransientJobError } from './job-errors.ts';
import type { AbortReason, LeaseKeeper } from './leases.ts';
import type { WorkerOptions } from './options.ts';
import { requeueJob } from './requeue.ts';

export interface RunJobDeps {
  db: TetherPgPool;
  handlers: Record<string, JobHandler>;
  leases: LeaseKeeper;
  lifecycle: Pick<Lifecycle, 'beacon'>;
  options: WorkerOptions;
  logger: Logger;
}

/** Writes of a finishing job wait this long for Postgres (a restart) before the run is given up. */
const FINISH_DEADLINE_MS = 30_000;

type Outcome =
  | { kind: 'succeeded'; result: Record<string, unknown> }
  | { kind: 'threw'; error: unknown }
  | { kind: 'aborted'; reason: AbortReason };

/**
 * The one graphile-worker task (`tether.job`): takes the job (queued -> running with a fresh lease and
 * fencing token), runs its handler with an AbortSignal, and records how it ended, every write fenced
 * by that token so a run whose lease was taken over cannot finish the job late.
 */
export function jobTask(deps: RunJobDeps): Task {
  return async (rawPayload, helpers) => {
    const payload = rawPayload as Partial<QueuePayload>;
    if (typeof payload?.jobId !== 'string') {
      deps.logger.error({ queueJobId: helpers.job.id }, 'queue entry without a jobId: dropped');
      return;
    }
    await runJob(deps, payload.jobId, helpers);
  };
}

async function runJob(deps: RunJobDeps, jobId: string, helpers: JobHelpers): Promise<void> {
  const { db, logger } = deps;
  const owner = helpers.job.locked_by ?? `pid-${process.pid}`;
  const token = randomUUID();
  const claim = await db.transaction(
    (c) =>
      transition(
        c,
        jobId,
        'queued',
        'running',
        { worker: owner },
        {
          lease: { owner, token, ttlMs: deps.options.leaseTtlMs },
        },
      ),
    { name: 'job.claim' },
  );
  if (!claim.ok) {
    // Cancelled while queued, finished, or deleted: the queue entry is simply done.
    if (claim.status !== 'running') return;
    // Only another live lease can hold it: let graphile-worker try this entry again later.
    throw new Error(`job ${jobId} is running under another lease`);
  }
  const job = claim.job;
  const handler = deps.handlers[job.type];
  const log = logger.child({ jobId, type: job.type, attempt: job.attempts });
  if (!handler) {
    await finish(deps, job.id, token, 'failed', { error: { message: `unknown job type "${job.type}"` } });
    return;
  }

  const controller = new AbortController();
  const beacon = deps.lifecycle.beacon(`job ${jobId}`);
  const onShutdownDeadline = () => controller.abort('shutdown' satisfies AbortReason);
  beacon.signal.addEventListener('abort', onShutdownDeadline, { once: true });
  deps.leases.hold(jobId, token, (reason) => controller.abort(reason));
  log.info({}, 'job started');
  try {
    const outcome = await runHandler(handler, controller.signal, {
      jobId,
      payload: job.payload,
      attempt: job.attempts,
      signal: controller.signal,
      progress: async (data) => {
        // A lost progress write is the database's failure, not the job's: retry the job, never fail it.
        const event = await db
          .transaction((c) => reportProgress(c, jobId, data, { leaseToken: token }), { name: 'job.progress' })
          .catch((error: unknown) => {
            throw new TransientJobError('recording progress failed', { cause: error });
          });
        if (!event && !controller.signal.aborted) controller.abort('lease-lost' satisfies AbortReason);
      },
    });
    deps.leases.release(jobId);
    await settle(deps, job, token, outcome, log);
  } finally {
    deps.leases.release(jobId);
    beacon.signal.removeEventListener('abort', onShutdownDeadline);
    beacon.release();
  }
}

/**
 * Runs the handler until it settles or the signal aborts, whichever is first: a handler that ignores
 * its signal must not hold up a cancel (the job is final) or a shutdown (the job is requeued, and any
 * late write of the abandoned run is refused by the fencing token).
 */
function runHandler(
  handler: JobHandler,
  signal: AbortSignal,
  ctx: Parameters<JobHandler>[0],
): Promise<Outcome> {
  return new Promise<Outcome>((resolve) => {
    const onAbort = () => resolve({ kind: 'aborted', reason: signal.reason as AbortReason });
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    handler(ctx).then(
      (result) =>
        resolve(signal.aborted ? { kind: 'aborted', reason: signal.reason } : { kind: 'succeeded', result }),
      (error: unknown) =>
        resolve(signal.aborted ? { kind: 'aborted', reason: signal.reason } : { kind: 'threw', error }),
    );
  });
}

async function settle(
  deps: RunJobDeps,
  job: { id: string; type: string; attempts: number },
  token: string,
  outcome: Outcome,
  log: Logger,
): Promise<void> {
  if (outcome.kind === 'succeeded') {
    await finish(deps, job.id, token, 'succeeded', { result: outcome.result });
    log.info({}, 'job succeeded');
    return;
  }
  if (outcome.kind === 'aborted') {
    if (outcome.reason === 'cancelled') {
      // The progress column is left as it was: a cancelled job keeps its partial progress.
      await finish(deps, job.id, token, 'cancelled', { data: { reason: 'cancel requested' } });
      log.info({}, 'job cancelled');
    } else if (outcome.reason === 'shutdown') {
      const requeued = await deps.db.transaction(
        (c) => requeueJob(c, job, token, 0, { reason: 'worker shutting down: handed to another worker' }),
        { name: 'job.release', deadlineMs: 2_000 },
      );
      log.info({ requeued }, 'job handed back at shutdown');
    } else {
      log.warn({}, 'lease lost (taken over after this worker stopped renewing): result discarded');
    }
    return;
  }
  const classification = classify(outcome.error);
  const error = describe(outcome.error, classification.reason);
  if (classification.kind === 'transient' && job.attempts < deps.options.maxAttempts) {
    const backoff = createBackoff({
      initialDelayMs: deps.options.retryInitialDelayMs,
      maxDelayMs: deps.options.retryMaxDelayMs,
      jitter: 'full',
    });
    let delayMs = 0;
    for (let i = 0; i < job.attempts; i++) delayMs = backoff.next();
    const requeued = await deps.db.transaction(
      (c) => requeueJob(c, job, token, delayMs, { reason: 'retry', error, retryInMs: Math.round(delayMs) }),
      { name: 'job.retry', deadlineMs: FINISH_DEADLINE_MS },
    );
    log.warn({ error, retryInMs: Math.round(delayMs), requeued }, 'job failed transiently: retrying');
    return;
  }
  await finish(deps, job.id, token, 'failed', { error });
  log.warn({ error }, 'job failed');
}

/** A final transition, fenced. A refused one means the lease was taken over: logged, never thrown. */
async function finish(
  deps: RunJobDeps,
  jobId: string,
  token: string,
  to: 'succeeded' | 'failed' | 'cancelled',
  what: { result?: unknown; error?: unknown; data?: Record<string, unknown> },
): Promise<void> {
  const done = await deps.db.transaction(
    (c) =>
      transition(c, jobId, 'running', to, what.data ?? {}, {
        leaseToken: token,
        ...(what.result === undefined ? {} : { result: what.result }),
        ...(what.error === undefined ? {} : { error: what.error }),
      }),
    // Fenced by the token and by `from: running`: running it twice cannot finish the job twice.
    { name: `job.${to}`, idempotent: true, deadlineMs: FINISH_DEADLINE_MS },
  );
  if (!done.ok)
    deps.logger.warn(
      { jobId, to, status: done.status },
      'late completion refused: the lease is no longer ours',
    );
}

function describe(error: unknown, reason: string): Record<string, unknown> {
  const e = error as { message?: unknown; code?: unknown };
  return {
    message: typeof e?.message === 'string' ? e.message : String(error),
    ...(typeof e?.code === 'string' ? { code: e.code } : {}),
    classification: reason,
  };
}
