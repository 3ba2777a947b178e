import type { Response } from 'express';

/**
 * Every failure the API reports, each with a stable RFC 9457 `type` (`urn:tether:problem:<slug>`) a
 * client can branch on. The OpenAPI document lists them; the slugs never change meaning. Each type is
 * documented in the error catalogue, `docs/errors.md#problem-<slug>`, generated from this table with
 * the `TETHER_*` codes it answers for (a test fails when the page is stale).
 */
export const PROBLEMS = {
  unauthorized: { status: 401, title: 'Missing, invalid or expired bearer token' },
  'malformed-json': { status: 400, title: 'The request body is not valid JSON' },
  'invalid-parameter': { status: 400, title: 'A path or query parameter is invalid' },
  'invalid-cursor': { status: 400, title: 'The pagination cursor is invalid' },
  'invalid-idempotency-key': { status: 400, title: 'The Idempotency-Key header is invalid' },
  'job-not-found': { status: 404, title: 'No such job' },
  'not-found': { status: 404, title: 'No such route' },
  'method-not-allowed': { status: 405, title: 'Method not allowed on this route' },
  'job-finished': { status: 409, title: 'The job has already finished' },
  'payload-too-large': { status: 413, title: 'The request body is too large' },
  'unsupported-media-type': { status: 415, title: 'The request body must be application/json' },
  'invalid-body': { status: 422, title: 'The request body does not match the schema' },
  'unknown-job-type': { status: 422, title: 'Unknown job type' },
  'idempotency-key-reused': {
    status: 422,
    title: 'The Idempotency-Key was already used with a different request',
  },
  'service-unavailable': { status: 503, title: 'A dependency is unavailable; retry later' },
  'internal-error': { status: 500, title: 'Internal error' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ProblemSlug = keyof typeof PROBLEMS;

export function problemType(slug: ProblemSlug): string {
  return `urn:tether:problem:${slug}`;
}

/** One field-level complaint: an RFC 6901 JSON pointer into the request and what is wrong there. */
export interface FieldError {
  pointer: string;
  detail: string;
}

/** Thrown by handlers and middleware; the error handler turns it into problem+json. */
export class ProblemError extends Error {
  readonly slug: ProblemSlug;
  readonly detail: string | undefined;
  readonly errors: FieldError[] | undefined;
  readonly headers: Record<string, string>;
  constructor(
    slug: ProblemSlug,
    detail?: string,
    options: { errors?: FieldError[]; headers?: Record<string, string>; cause?: unknown } = {},
  ) {
    super(detail ?? PROBLEMS[slug].title, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ProblemError';
    this.slug = slug;
    this.detail = detail;
    this.errors = options.errors;
    this.headers = options.headers ?? {};
  }
}

export function sendProblem(res: Response, problem: ProblemError, instance?: string): void {
  const { status, title } = PROBLEMS[problem.slug];
  for (const [name, value] of Object.entries(problem.headers)) res.setHeader(name, value);
  res.status(status);
  res.setHeader('content-type', 'application/problem+json');
  res.end(
    JSON.stringify({
      type: problemType(problem.slug),
      title,
      status,
      ...(problem.detail === undefined ? {} : { detail: problem.detail }),
      ...(instance === undefined ? {} : { instance }),
      ...(problem.errors === undefined ? {} : { errors: problem.errors }),
    }),
  );
}
