import type { Response } from 'express';

/** One problem type: what the API answers, and the documentation its `type` URI serves. */
export interface ProblemDefinition {
  status: number;
  /** The problem+json `title`; it never changes from occurrence to occurrence. */
  title: string;
  /** What happened, for the page at `/problems/<slug>` and the error catalogue. */
  meaning: string;
  /** What the client should do about it. */
  action: string;
  /** The `TETHER_*` codes (thrown by the libs) this answer stands for, when it maps any. */
  codes: readonly `TETHER_${string}`[];
}

/**
 * Every failure the API reports, each with a stable RFC 9457 `type`, `/problems/<slug>`, a client can
 * branch on. The API serves each type's documentation at that path (problem-docs.ts), and the error
 * catalogue, `docs/errors.md#problem-<slug>`, is generated from this same table with the codes each
 * type answers for (a workspace-checks test fails when the page is stale). Slugs never change meaning.
 */
export const PROBLEMS = {
  unauthorized: {
    status: 401,
    title: 'Missing, invalid or expired bearer token',
    meaning:
      'The request has no `Authorization: Bearer` token, or its token is malformed, expired, wrongly ' +
      'signed or has no `sub`. The answer carries `WWW-Authenticate: Bearer`.',
    action: 'Get a fresh token from the identity provider and send the request again with it.',
    codes: ['TETHER_AUTH_TOKEN_REJECTED'],
  },
  'malformed-json': {
    status: 400,
    title: 'The request body is not valid JSON',
    meaning: 'The body could not be parsed as JSON, or it ended before its `Content-Length`.',
    action: 'Send one complete JSON document as the body. Retrying the same bytes cannot help.',
    codes: [],
  },
  'invalid-parameter': {
    status: 400,
    title: 'A path or query parameter is invalid',
    meaning:
      'A path parameter (a job id must be a uuid) or a query parameter (`status`, `limit`, `cursor`) is ' +
      'malformed, repeated or unknown; `detail` names it.',
    action: 'Fix the parameter named in `detail` (the OpenAPI document at `/openapi.json` lists them).',
    codes: [],
  },
  'invalid-cursor': {
    status: 400,
    title: 'The pagination cursor is invalid',
    meaning: 'The `cursor` query parameter is not one this API produced.',
    action: 'Pass back a `nextCursor` exactly as returned, or start again from the first page.',
    codes: ['TETHER_JOBS_INVALID_CURSOR'],
  },
  'invalid-idempotency-key': {
    status: 400,
    title: 'The Idempotency-Key header is invalid',
    meaning:
      'More than one `Idempotency-Key` header, or a key that is not 1 to 255 printable ASCII characters.',
    action: 'Send one key of 1 to 255 printable ASCII characters (a UUID is a good key).',
    codes: [],
  },
  'job-not-found': {
    status: 404,
    title: 'No such job',
    meaning:
      "No job with this id exists for the token's subject. Someone else's job gets the same answer, so " +
      'ids do not leak.',
    action: "Check the id, and that the token is the job owner's.",
    codes: ['TETHER_JOBS_NOT_FOUND'],
  },
  'not-found': {
    status: 404,
    title: 'No such route',
    meaning: 'No route of this API matches the path (or no problem type has this slug).',
    action: 'Check the path against the OpenAPI document at `/openapi.json`.',
    codes: [],
  },
  'method-not-allowed': {
    status: 405,
    title: 'Method not allowed on this route',
    meaning: 'The path exists but not with this method; the `Allow` header lists the methods it takes.',
    action: 'Use one of the methods in `Allow`.',
    codes: [],
  },
  'job-finished': {
    status: 409,
    title: 'The job has already finished',
    meaning: 'A cancel was asked for a job that already ended (`succeeded`, `failed` or `cancelled`).',
    action: 'Nothing to cancel: read the job for its final status.',
    codes: [],
  },
  'payload-too-large': {
    status: 413,
    title: 'The request body is too large',
    meaning: 'The body is larger than the API accepts (`API_BODY_LIMIT_BYTES`, 65536 by default).',
    action: 'Send a smaller payload; keep large inputs elsewhere and pass a reference to them.',
    codes: [],
  },
  'unsupported-media-type': {
    status: 415,
    title: 'The request body must be application/json',
    meaning: 'The body was sent with another `Content-Type`, charset or content encoding.',
    action: 'Send the body as `Content-Type: application/json` (UTF-8, not compressed).',
    codes: [],
  },
  'invalid-body': {
    status: 422,
    title: 'The request body does not match the schema',
    meaning:
      'The body is JSON but not a valid request: `errors` lists each wrong field as an RFC 6901 ' +
      '`pointer` with its `detail`.',
    action: 'Fix every field listed in `errors` (the schema is in `/openapi.json`).',
    codes: [],
  },
  'unknown-job-type': {
    status: 422,
    title: 'Unknown job type',
    meaning: 'The body names a job `type` this deployment has no handler for.',
    action: 'Use one of the job types the OpenAPI document lists.',
    codes: [],
  },
  'idempotency-key-reused': {
    status: 422,
    title: 'The Idempotency-Key was already used with a different request',
    meaning: 'This subject already used the key, within its expiry, for a request with another body.',
    action: 'Use a new key for a new request; resend the original body to get the original job.',
    codes: ['TETHER_JOBS_IDEMPOTENCY_KEY_REUSED'],
  },
  'service-unavailable': {
    status: 503,
    title: 'A dependency is unavailable; retry later',
    meaning:
      'The database (or the token signing keys) did not answer within the deadline, refused, is ' +
      'restarting or lacks its schema. The request may or may not have been applied: a COMMIT whose ' +
      'outcome is unknown is answered this way too.',
    action:
      'Retry after `Retry-After` seconds, with the same `Idempotency-Key` for a job creation so that a ' +
      'job that was in fact created is returned instead of made twice.',
    codes: [
      'TETHER_RETRY_EXHAUSTED',
      'TETHER_DEADLINE_EXCEEDED',
      'TETHER_RETRY_BUDGET_EXHAUSTED',
      'TETHER_BREAKER_OPEN',
      'TETHER_POOL_DRAINING',
      'TETHER_PG_COMMIT_OUTCOME_UNKNOWN',
      'TETHER_AUTH_KEYS_UNAVAILABLE',
    ],
  },
  'internal-error': {
    status: 500,
    title: 'Internal error',
    meaning: 'A bug in the API. It is logged on the server, without request data.',
    action: 'Report it with the time and `instance` of the answer; retrying is unlikely to help.',
    codes: [],
  },
} as const satisfies Record<string, ProblemDefinition>;

export type ProblemSlug = keyof typeof PROBLEMS;

/** Type guard for a string that may be a slug (a path segment, say). */
export function isProblemSlug(value: string): value is ProblemSlug {
  return Object.hasOwn(PROBLEMS, value);
}

/**
 * The `type` of a problem: a relative reference, resolved against the request URI (RFC 9457 §3.1.1),
 * so it is the same string in every deployment and dereferences to this API's page for it.
 */
export function problemType(slug: string): string {
  return `/problems/${slug}`;
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
