export { cancelJob, type CancelResult } from './cancel.ts';
export { decodeCursor, encodeCursor, type CursorPosition } from './cursor.ts';
export { DEFAULT_IDEMPOTENCY_TTL_MS, enqueueJob, type EnqueueInput, type EnqueueResult } from './enqueue.ts';
export {
  IdempotencyKeyReusedError,
  InvalidCursorError,
  JobNotFoundError,
  JobsError,
  JobsInputError,
} from './errors.ts';
export { appendEvent, MAX_EVENTS_PAGE, readEvents } from './events.ts';
export { getJob, isJobId, listJobs, MAX_PAGE_SIZE, type JobPage, type ListJobsInput } from './read.ts';
export {
  CANCEL_CHANNEL,
  DEFAULT_QUEUE_MAX_ATTEMPTS,
  QUEUE_TASK,
  queueJobKey,
  type QueuePayload,
} from './queue.ts';
export { requestHash } from './request-hash.ts';
export { reportProgress, transition, type TransitionOptions, type TransitionResult } from './transition.ts';
export {
  FINAL_STATUSES,
  JOB_EVENT_TYPES,
  JOB_STATUSES,
  type Job,
  type JobEvent,
  type JobEventType,
  type JobStatus,
  type Queryable,
} from './types.ts';
export {
  DEFAULT_STREAM_MAXLEN,
  JOB_EVENTS_STREAM,
  relayBatch,
  type RelayBatchResult,
  type StreamEntry,
  type StreamWriter,
} from './relay.ts';
