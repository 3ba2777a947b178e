/**
 * How a Tether job maps onto graphile-worker: one task identifier for every job type (the worker
 * dispatches on `tether_jobs.type`), the Tether job id in the payload, and the job id as
 * graphile-worker's `job_key` so a queued job can be removed by id (`graphile_worker.remove_job`).
 */
export const QUEUE_TASK = 'tether.job';

/** graphile-worker's own retry count; the worker's classification decides what is retried. */
export const DEFAULT_QUEUE_MAX_ATTEMPTS = 25;

/** The payload graphile-worker hands the `tether.job` task. */
export interface QueuePayload {
  jobId: string;
  type: string;
}

/** The graphile-worker `job_key` of a Tether job. */
export function queueJobKey(jobId: string): string {
  return jobId;
}

/**
 * NOTIFY channel of cancel requests for running jobs; the payload is the job id. Workers LISTEN on
 * it (and also poll `cancel_requested_at`: a notification is lost while the listener reconnects).
 */
export const CANCEL_CHANNEL = 'tether_job_cancel';
