import { randomUUID } from 'node:crypto';
import { getJob, reportProgress, transition, type Job, type QueuePayload } from '@tether/jobs';
import type { TetherPgPool } from '@tether/pooling';
import { classify, createBackoff } from '@tether/retry';
import type { Lifecycle } from '@tether/shutdown';
import type { Logger } from '@tether/telemetry';
import type { JobHelpers, Task } from 'graphile-worker';
import type { JobHandler } from './handlers.ts';
import { TransientJobError } from './job-errors.ts';
import type { AbortReason, LeaseKeeper } from './leases.ts';
import type { WorkerOptions } from './options.ts';
import { issueQueueEntry, requeueJob } from './requeue.ts';
import { resendWhileUnknown } from './resend.ts';

export interface RunJobDeps {
  db: TetherPgPool;
  handlers: Record<string, JobHandler>;
  leases: LeaseKeeper;
  lifecycle: Pick<Lifecycle, 'beacon' | 'signal'>;
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
    // Shutdown has begun: take no new job. graphile-worker stops its workers when the worker stops
    // it, but a fetch already in flight then (its 1 s poll timer fired in the same event-loop turn,
    // ahead of the signal; or it was waiting for a connection) still hands over what it finds,
    // including a job enqueued after the SIGTERM. Passed on instead of run.
    if (deps.lifecycle.signal.aborted) {
      await passOn(deps, payload.jobId);
      return;
    }
    await runJob(deps, payload.jobId, helpers);
  };
}

/**
 * Gives a still-queued job a fresh queue entry, due now (its NOTIFY wakes another worker at once),
 * without starting it here. The entry this worker fetched is locked by its pool: `add_job` retires it
 * (see `issueQueueEntry`), and graphile-worker completes it when the task returns. If this fails, the
 * job is still `queued` and its entry spent: a sweeper elsewhere reissues one within a sweep interval.
 */
async function passOn(deps: RunJobDeps, jobId: string): Promise<void> {
  try {
    const passed = await deps.db.transaction(
      async (c) => {
        const { rows } = await c.query<{ id: string; type: string }>(
          `SELECT id, type FROM tether_jobs WHERE id = $1 AND status = 'queued' FOR UPDATE`,
          [jobId],
        );
        const job = rows[0];
        if (job) await issueQueueEntry(c, job, 0);
        return job !== undefined;
      },
      // Re-running it is harmless: a second add_job replaces the first one's unlocked entry.
      { name: 'job.pass-on', idempotent: true, deadlineMs: 2_000 },
    );
    deps.logger.info(
      { jobId, passed },
      'queue entry fetched after shutdown began: job passed on, not started',
    );
  } catch (error) {
    deps.logger.warn(
      { jobId, err: error },
      'could not pass on a job at shutdown: the sweeper hands it out again',
    );
  }
}

async function runJob(deps: RunJobDeps, jobId: string, helpers: JobHelpers): Promise<void> {
  const { logger } = deps;
  const owner = helpers.job.locked_by ?? `pid-${process.pid}`;
  const token = randomUUID();
  let job: Job | null;
  try {
    job = await claimJob(deps, jobId, owner, token);
  } catch (error) {
    // Postgres stayed out of reach. Throwing would make graphile-worker push this entry's run_at out
    // by e^attempts seconds (20 s after three failures); returning spends the entry instead, and the
    // sweeper issues the still-queued job a fresh one within a sweep interval.
    logger.warn({ jobId, err: error }, 'could not start the job: the sweeper hands it out again');
    return;
  }
  if (!job) return;
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
      progress: progressWriter(deps, jobId, token, job.lastSeq, controller),
    });
    deps.leases.release(jobId);
    await settle(deps, job, token, outcome, log).catch((error: unknown) => {
      // Not thrown to graphile-worker (its retry would push the entry out): the job is still running
      // under a lease nobody renews, so the sweeper requeues it once that expires.
      log.warn({ err: error }, 'could not record how the job ended: it runs again after its lease expires');
    });
  } finally {
    deps.leases.release(jobId);
    beacon.signal.removeEventListener('abort', onShutdownDeadline);
    beacon.release();
  }
}

/**
 * Takes the job: queued -> running with this run's lease. Retried through transient failures and
 * re-sent after an unknown COMMIT; a re-sent claim whose first try landed finds the job running
 * under its own token. Null when the entry has nothing to do: the job was cancelled, finished or
 * deleted, or another run holds it (that run's end issues the job its next entry, or the sweeper
 * does when its lease expires).
 */
async function claimJob(deps: RunJobDeps, jobId: string, owner: string, token: string): Promise<Job | null> {
  const { db } = deps;
  const claim = await resendWhileUnknown(
    () =>
      db.transaction(
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
        { name: 'job.claim', idempotent: true, deadlineMs: FINISH_DEADLINE_MS },
      ),
    FINISH_DEADLINE_MS,
  );
  if (claim.ok) return claim.job;
  if (claim.status !== 'running') return null;
  const { rows } = await db.query<{ mine: boolean }>(
    'SELECT lease_token = $2::uuid AS mine FROM tether_jobs WHERE id = $1',
    [jobId, token],
  );
  return rows[0]?.mine ? getJob(db, jobId) : null;
}

/**
 * The handler's `progress()`: one report at a time (in call order), each fenced by the lease token
 * and by the seq the log ends at, so a report re-sent after an unknown COMMIT is written once. A
 * refused report means the lease is gone: the run is aborted.
 */
function progressWriter(
  deps: RunJobDeps,
  jobId: string,
  token: string,
  lastSeq: number,
  controller: AbortController,
): (data: Record<string, unknown>) => Promise<void> {
  let seq = lastSeq;
  let previous: Promise<unknown> = Promise.resolve();
  const write = async (data: Record<string, unknown>) => {
    const event = await resendWhileUnknown(
      () =>
        deps.db.transaction((c) => reportProgress(c, jobId, data, { leaseToken: token, afterSeq: seq }), {
          name: 'job.progress',
          idempotent: true,
          deadlineMs: FINISH_DEADLINE_MS,
        }),
      FINISH_DEADLINE_MS,
    ).catch((error: unknown) => {
      // A lost progress write is the database's failure, not the job's: retry the job, never fail it.
      throw new TransientJobError('recording progress failed', { cause: error });
    });
    if (event) seq = event.seq;
    else if (!controller.signal.aborted) controller.abort('lease-lost' satisfies AbortReason);
  };
  return (data) => {
    const next = previous.catch(() => {}).then(() => write(data));
    previous = next;
    return next;
  };
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
      const requeued = await resendWhileUnknown(
        () =>
          deps.db.transaction(
            (c) => requeueJob(c, job, token, 0, { reason: 'worker shutting down: handed to another worker' }),
            { name: 'job.release', idempotent: true, deadlineMs: 2_000 },
          ),
        2_000,
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
    const requeued = await resendWhileUnknown(
      () =>
        deps.db.transaction(
          (c) =>
            requeueJob(c, job, token, delayMs, { reason: 'retry', error, retryInMs: Math.round(delayMs) }),
          { name: 'job.retry', idempotent: true, deadlineMs: FINISH_DEADLINE_MS },
        ),
      FINISH_DEADLINE_MS,
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
  const done = await resendWhileUnknown(
    () =>
      deps.db.transaction(
        (c) =>
          transition(c, jobId, 'running', to, what.data ?? {}, {
            leaseToken: token,
            ...(what.result === undefined ? {} : { result: what.result }),
            ...(what.error === undefined ? {} : { error: what.error }),
          }),
        // Fenced by the token and by `from: running`: running it twice cannot finish the job twice.
        { name: `job.${to}`, idempotent: true, deadlineMs: FINISH_DEADLINE_MS },
      ),
    FINISH_DEADLINE_MS,
  );
  // Refused with the job already in `to`: most likely a first try whose COMMIT was unknown landed.
  if (!done.ok && done.status !== to)
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
