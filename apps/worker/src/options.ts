import { integerFromEnv, TetherInvalidOptionError } from '@tether/errors';

/**
 * The worker's own settings (beyond the shared runtime configuration of @tether/config), read from
 * the environment and validated at start-up: a bad value stops the worker with the variable's name.
 */
export interface WorkerOptions {
  /** Jobs run at once by this process (env `WORKER_CONCURRENCY`). Default 4. */
  concurrency: number;
  /**
   * How long a running job's lease lasts without renewal, ms (env `WORKER_LEASE_TTL_MS`). A worker
   * that dies or loses its network stops renewing; another worker's sweeper requeues the job once the
   * lease ran out. Recovery time ≈ this + `sweepIntervalMs` + the queue's poll. Default 10000.
   */
  leaseTtlMs: number;
  /** How often a running job's lease is renewed, ms (`WORKER_LEASE_RENEW_MS`). Default leaseTtlMs / 4. */
  leaseRenewMs: number;
  /** How often this worker looks for expired leases, ms (`WORKER_SWEEP_INTERVAL_MS`). 0 turns the sweeper off. Default 2000. */
  sweepIntervalMs: number;
  /** How often running jobs are checked for a cancel request, ms (`WORKER_CANCEL_POLL_MS`). Default 250. */
  cancelPollMs: number;
  /** Runs of a job that failed transiently before it is `failed` (`WORKER_MAX_ATTEMPTS`). Default 5. */
  maxAttempts: number;
  /** First retry delay, ms (`WORKER_RETRY_INITIAL_DELAY_MS`), growing with jitter to `retryMaxDelayMs`. Default 500. */
  retryInitialDelayMs: number;
  /** Longest retry delay, ms (`WORKER_RETRY_MAX_DELAY_MS`). Default 30000. */
  retryMaxDelayMs: number;
  /** How often the event relay looks for new events when idle, ms (`RELAY_POLL_MS`). Default 50. */
  relayPollMs: number;
  /** Approximate stream length the relay trims to (`RELAY_STREAM_MAXLEN`). Default 100000. */
  streamMaxLen: number;
}

/**
 * A bad worker variable: the shared `TetherInvalidOptionError` (code `TETHER_INVALID_OPTION`;
 * it was `TETHER_WORKER_INVALID_OPTION`), `field` names the variable.
 * @deprecated Use `TetherInvalidOptionError` from `@tether/errors` (the same class).
 */
export const WorkerOptionError = TetherInvalidOptionError;
/** @deprecated Use `TetherInvalidOptionError` from `@tether/errors`. */
export type WorkerOptionError = TetherInvalidOptionError;

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number): number {
  return integerFromEnv(env, name, fallback, { min });
}

export function workerOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): WorkerOptions {
  const leaseTtlMs = integer(env, 'WORKER_LEASE_TTL_MS', 10_000, 1_000);
  const options: WorkerOptions = {
    concurrency: integer(env, 'WORKER_CONCURRENCY', 4, 1),
    leaseTtlMs,
    leaseRenewMs: integer(env, 'WORKER_LEASE_RENEW_MS', Math.floor(leaseTtlMs / 4), 100),
    sweepIntervalMs: integer(env, 'WORKER_SWEEP_INTERVAL_MS', 2_000, 0),
    cancelPollMs: integer(env, 'WORKER_CANCEL_POLL_MS', 250, 10),
    maxAttempts: integer(env, 'WORKER_MAX_ATTEMPTS', 5, 1),
    retryInitialDelayMs: integer(env, 'WORKER_RETRY_INITIAL_DELAY_MS', 500, 1),
    retryMaxDelayMs: integer(env, 'WORKER_RETRY_MAX_DELAY_MS', 30_000, 1),
    relayPollMs: integer(env, 'RELAY_POLL_MS', 50, 1),
    streamMaxLen: integer(env, 'RELAY_STREAM_MAXLEN', 100_000, 100),
  };
  if (options.leaseRenewMs * 2 > leaseTtlMs)
    throw new TetherInvalidOptionError(
      'WORKER_LEASE_RENEW_MS',
      `must be <= half of WORKER_LEASE_TTL_MS (${leaseTtlMs})`,
      {
        value: options.leaseRenewMs,
      },
    );
  if (options.retryMaxDelayMs < options.retryInitialDelayMs)
    throw new TetherInvalidOptionError(
      'WORKER_RETRY_MAX_DELAY_MS',
      `must be >= WORKER_RETRY_INITIAL_DELAY_MS (${options.retryInitialDelayMs})`,
      { value: options.retryMaxDelayMs },
    );
  return options;
}
