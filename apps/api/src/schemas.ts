import { JOB_STATUSES, MAX_PAGE_SIZE, type Job } from '@tether/jobs';
import * as z from 'zod';
import 'zod-openapi';
import { JOB_PAYLOADS } from './job-types.ts';

/**
 * The one schema source of every request and response: handlers parse requests with these, and
 * openapi.ts renders the same objects into the served OpenAPI 3.1 document.
 */

export const JobStatusSchema = z.enum(JOB_STATUSES).meta({ id: 'JobStatus' });

export const CreateJobBody = z
  .discriminatedUnion('type', [
    z.strictObject({ type: z.literal('demo.sleep'), payload: JOB_PAYLOADS['demo.sleep'] }),
    z.strictObject({ type: z.literal('demo.fail'), payload: JOB_PAYLOADS['demo.fail'] }),
    z.strictObject({ type: z.literal('demo.flaky'), payload: JOB_PAYLOADS['demo.flaky'] }),
  ])
  .meta({ id: 'CreateJobRequest' });

export const JobAccepted = z.strictObject({ id: z.uuid(), status: JobStatusSchema }).meta({
  id: 'JobAccepted',
  description: 'The job was queued (or, for a replayed Idempotency-Key, had been).',
});

const timestamp = z.iso.datetime({ offset: true });

export const JobSchema = z
  .strictObject({
    id: z.uuid(),
    type: z.string(),
    status: JobStatusSchema,
    payload: z.record(z.string(), z.unknown()),
    progress: z.unknown().meta({ description: 'The latest progress report, null before the first' }),
    result: z.unknown().meta({ description: 'The result of a succeeded job, else null' }),
    error: z.unknown().meta({ description: 'The error of a failed job, else null' }),
    attempts: z.int().min(0),
    lastEventId: z.string().regex(/^\d+$/).meta({
      description: "Id (per-job sequence number) of the job's latest event; resume a stream after it",
    }),
    cancelRequested: z.boolean(),
    createdAt: timestamp,
    updatedAt: timestamp,
    startedAt: timestamp.nullable(),
    finishedAt: timestamp.nullable(),
  })
  .meta({ id: 'Job' });

export const JobPageSchema = z
  .strictObject({
    items: z.array(JobSchema),
    nextCursor: z
      .string()
      .nullable()
      .meta({ description: 'Pass as `cursor` for the next page; null on the last' }),
  })
  .meta({ id: 'JobPage' });

export const ProblemSchema = z
  .object({
    type: z.string().meta({
      description:
        'Stable identifier of the failure: the relative URI reference /problems/<slug>, the same string in ' +
        'every deployment. Resolved against the request URI it is a page documenting the problem type.',
    }),
    title: z.string(),
    status: z.int().min(400).max(599),
    detail: z.string().optional(),
    instance: z.string().optional(),
    errors: z.array(z.strictObject({ pointer: z.string(), detail: z.string() })).optional(),
  })
  .meta({ id: 'Problem', description: 'RFC 9457 problem details' });

/** What `GET /problems/{slug}` answers with `Accept: application/json`. */
export const ProblemTypeSchema = z
  .strictObject({
    type: z.string().meta({ description: '/problems/<slug>, as in problem+json answers' }),
    slug: z.string(),
    status: z.int().min(400).max(599),
    title: z.string(),
    meaning: z.string(),
    action: z.string().meta({ description: 'What the client should do' }),
    codes: z.array(z.string()).meta({ description: 'The TETHER_* codes this answer stands for' }),
  })
  .meta({ id: 'ProblemType', description: 'The documentation of one problem type' });

export const ProblemTypeIndexSchema = z
  .strictObject({ problems: z.array(ProblemTypeSchema) })
  .meta({ id: 'ProblemTypeIndex' });

export const JobIdParams = z.strictObject({
  id: z.guid().meta({ description: 'Job id (uuid)', override: { format: 'uuid' } }),
});

export const ListJobsQuery = z.strictObject({
  status: JobStatusSchema.optional(),
  limit: z.coerce.number().int().min(1).max(MAX_PAGE_SIZE).default(20),
  cursor: z
    .string()
    .min(1)
    .max(200)
    .optional()
    .meta({ description: 'Opaque `nextCursor` of the previous page' }),
});

export const IdempotencyKeyHeader = z.string().min(1).max(255);

export type CreateJobRequest = z.infer<typeof CreateJobBody>;

function iso(date: Date | null): string | null {
  return date === null ? null : date.toISOString();
}

/** The public view of a job (no owner, no idempotency bookkeeping, no lease internals). */
export function jobView(job: Job): z.infer<typeof JobSchema> {
  return {
    id: job.id,
    type: job.type,
    status: job.status,
    payload: job.payload,
    progress: job.progress ?? null,
    result: job.result ?? null,
    error: job.error ?? null,
    attempts: job.attempts,
    lastEventId: String(job.lastSeq),
    cancelRequested: job.cancelRequestedAt !== null,
    createdAt: job.createdAt.toISOString(),
    updatedAt: job.updatedAt.toISOString(),
    startedAt: iso(job.startedAt),
    finishedAt: iso(job.finishedAt),
  };
}
