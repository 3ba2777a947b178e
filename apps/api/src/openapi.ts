import { DEFAULT_IDEMPOTENCY_TTL_MS } from '@tether/jobs';
import * as z from 'zod';
import { createDocument, type oas31, type ZodOpenApiResponsesObject } from 'zod-openapi';
import { PROBLEMS, problemType, type ProblemSlug } from './problems.ts';
import {
  CreateJobBody,
  IdempotencyKeyHeader,
  JobAccepted,
  JobIdParams,
  JobPageSchema,
  JobSchema,
  ListJobsQuery,
  ProblemSchema,
  ProblemTypeIndexSchema,
  ProblemTypeSchema,
} from './schemas.ts';

function problems(...slugs: ProblemSlug[]): ZodOpenApiResponsesObject {
  const byStatus: ZodOpenApiResponsesObject = {};
  for (const status of new Set(slugs.map((s) => PROBLEMS[s].status))) {
    const here = slugs.filter((s) => PROBLEMS[s].status === status);
    byStatus[String(status) as '400'] = {
      description: here.map((s) => `\`${problemType(s)}\`: ${PROBLEMS[s].title}`).join('; '),
      ...(status === 503
        ? {
            headers: z.object({
              'Retry-After': z.string().meta({ description: 'Seconds to wait before retrying' }),
            }),
          }
        : {}),
      ...(status === 401
        ? { headers: z.object({ 'WWW-Authenticate': z.string().meta({ description: 'Bearer challenge' }) }) }
        : {}),
      content: { 'application/problem+json': { schema: ProblemSchema } },
    };
  }
  return byStatus;
}

/** A documentation page: HTML by default, JSON when the client asks for it. */
function htmlOrJson(description: string, schema: z.ZodType) {
  return { description, content: { 'text/html': { schema: z.string() }, 'application/json': { schema } } };
}

const always: ProblemSlug[] = ['unauthorized', 'service-unavailable', 'internal-error'];

/** Renders the OpenAPI 3.1 document from the same zod schemas the handlers use. */
export function buildOpenApiDocument(
  options: { idempotencyTtlMs: number } = { idempotencyTtlMs: DEFAULT_IDEMPOTENCY_TTL_MS },
): oas31.OpenAPIObject {
  const ttlSeconds = Math.round(options.idempotencyTtlMs / 1000);
  const idempotencyKey = IdempotencyKeyHeader.meta({
    description:
      `Optional. The same key with the same body returns the same job and response (also for concurrent ` +
      `duplicates: a duplicate waits for the first request's transaction and then answers with its job); ` +
      `the same key with a different body answers 422. Keys are scoped to the token's subject and expire ` +
      `${ttlSeconds} s after first use, after which the key may be reused for a new job. A structured-field ` +
      `string ("…") or a bare token are both accepted.`,
  });
  return createDocument({
    openapi: '3.1.0',
    info: {
      title: 'Tether jobs API',
      version: '1.0.0',
      description:
        'Queue jobs, follow them, cancel them. Errors are RFC 9457 application/problem+json; each `type` ' +
        'is `/problems/<slug>` and documented there.',
    },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
    },
    security: [{ bearer: [] }],
    'x-idempotency-key-expiry-seconds': ttlSeconds,
    paths: {
      '/v1/jobs': {
        post: {
          operationId: 'createJob',
          summary: 'Queue a job',
          requestParams: { header: z.object({ 'Idempotency-Key': idempotencyKey.optional() }) },
          requestBody: { required: true, content: { 'application/json': { schema: CreateJobBody } } },
          responses: {
            '202': {
              description:
                'Queued. Replays of an Idempotency-Key answer the same body with `Idempotent-Replayed: true`.',
              headers: z.object({
                Location: z.string().meta({ description: '/v1/jobs/{id}' }),
                'Idempotent-Replayed': z.enum(['true']).optional(),
              }),
              content: { 'application/json': { schema: JobAccepted } },
            },
            ...problems(
              ...always,
              'malformed-json',
              'invalid-idempotency-key',
              'payload-too-large',
              'unsupported-media-type',
              'invalid-body',
              'unknown-job-type',
              'idempotency-key-reused',
            ),
          },
        },
        get: {
          operationId: 'listJobs',
          summary: "A page of the caller's jobs, newest first",
          requestParams: { query: ListJobsQuery },
          responses: {
            '200': { description: 'A page', content: { 'application/json': { schema: JobPageSchema } } },
            ...problems(...always, 'invalid-parameter', 'invalid-cursor'),
          },
        },
      },
      '/v1/jobs/{id}': {
        get: {
          operationId: 'getJob',
          summary: 'A job (only its owner can read it; anyone else gets 404)',
          requestParams: { path: JobIdParams },
          responses: {
            '200': { description: 'The job', content: { 'application/json': { schema: JobSchema } } },
            ...problems(...always, 'invalid-parameter', 'job-not-found'),
          },
        },
      },
      '/v1/jobs/{id}/cancel': {
        post: {
          operationId: 'cancelJob',
          summary: 'Cancel a job',
          description:
            'A queued job is cancelled at once (200). A running job is asked to stop (202, `cancelRequested: true`); ' +
            'the worker aborts its handler and the job ends `cancelled`. A finished job answers 409.',
          requestParams: { path: JobIdParams },
          responses: {
            '200': { description: 'Cancelled', content: { 'application/json': { schema: JobSchema } } },
            '202': {
              description: 'Cancel requested',
              content: { 'application/json': { schema: JobSchema } },
            },
            ...problems(...always, 'invalid-parameter', 'job-not-found', 'job-finished'),
          },
        },
      },
      '/openapi.json': {
        get: {
          operationId: 'openapi',
          summary: 'This document',
          security: [],
          responses: { '200': { description: 'OpenAPI 3.1', content: { 'application/json': {} } } },
        },
      },
      '/problems': {
        get: {
          operationId: 'problemTypes',
          summary: 'Every problem type this API answers with',
          description: 'HTML by default; JSON with `Accept: application/json`.',
          security: [],
          responses: {
            '200': htmlOrJson('The index', ProblemTypeIndexSchema),
          },
        },
      },
      '/problems/{slug}': {
        get: {
          operationId: 'problemType',
          summary: 'The documentation a problem+json `type` dereferences to',
          description:
            'Every `type` is `/problems/<slug>`, a relative reference resolved against the request URI ' +
            '(RFC 9457 §3.1.1). HTML by default; JSON with `Accept: application/json`.',
          security: [],
          requestParams: {
            path: z.object({ slug: z.enum(Object.keys(PROBLEMS) as [ProblemSlug, ...ProblemSlug[]]) }),
          },
          responses: {
            '200': htmlOrJson(
              'The problem type: status, title, meaning, what to do, the TETHER_* codes',
              ProblemTypeSchema,
            ),
            ...problems('not-found'),
          },
        },
      },
    },
  });
}
