import {
  cancelJob,
  enqueueJob,
  getJob,
  IdempotencyKeyReusedError,
  InvalidCursorError,
  listJobs,
  requestHash,
  type Queryable,
} from '@tether/jobs';
import type { TetherPgPool } from '@tether/pooling';
import type { Express, Request, RequestHandler, Response } from 'express';
import * as z from 'zod';
import { parseIdempotencyKey } from '../idempotency-key.ts';
import { isJobType } from '../job-types.ts';
import { ProblemError, type FieldError } from '../problems.ts';
import { CreateJobBody, JobIdParams, jobView, ListJobsQuery } from '../schemas.ts';

export interface JobsRouteOptions {
  db: TetherPgPool;
  /** Deadline of the database work of one request, every retry included, ms. */
  dbDeadlineMs: number;
  idempotencyTtlMs: number;
  /** Runs first on every job route: sets `req.principal` or fails. */
  authenticated: RequestHandler;
  /** The body parser, on the routes that take a body (after `authenticated`). */
  json: RequestHandler;
}

/**
 * Adds the four job routes to `app` itself rather than a nested Router: a mounted Router costs every
 * request its own layer walk and path/params save-and-restore, and GET /v1/jobs/:id is the hot path.
 */
export function addJobRoutes(
  app: Express,
  { db, dbDeadlineMs, idempotencyTtlMs, authenticated, json }: JobsRouteOptions,
): void {
  const getReads = reads(db, dbDeadlineMs, 'get job');
  const listReads = reads(db, dbDeadlineMs, 'list jobs');

  app.post('/v1/jobs', authenticated, json, async (req: Request, res: Response) => {
    if (!req.is('application/json')) {
      throw new ProblemError('unsupported-media-type', 'send the body as application/json');
    }
    const idempotencyKey = parseIdempotencyKey(req.headers['idempotency-key']);
    const body = req.body as unknown;
    const type = (body as { type?: unknown } | null)?.type;
    if (typeof type === 'string' && !isJobType(type)) {
      throw new ProblemError('unknown-job-type', `no job type "${type.slice(0, 100)}"`);
    }
    const parsed = parse(CreateJobBody, body, 'invalid-body', '');
    const owner = req.principal!;
    const hash = requestHash(parsed);
    try {
      // Everything in this transaction is database work, so re-running it after a lost connection
      // before COMMIT is safe (`idempotent`); a lost COMMIT becomes a 503 the client can retry.
      const { job, created } = await db.transaction(
        (client) =>
          enqueueJob(client, {
            owner,
            type: parsed.type,
            payload: parsed.payload,
            requestHash: hash,
            idempotencyTtlMs,
            ...(idempotencyKey === undefined ? {} : { idempotencyKey }),
          }),
        { idempotent: true, deadlineMs: dbDeadlineMs, name: 'enqueue job' },
      );
      res.location(`/v1/jobs/${job.id}`);
      if (!created) res.setHeader('idempotent-replayed', 'true');
      // A replay answers what the first request answered: the job as it was accepted.
      sendJson(res, 202, { id: job.id, status: 'queued' });
    } catch (error) {
      if (error instanceof IdempotencyKeyReusedError) {
        throw new ProblemError(
          'idempotency-key-reused',
          'this key belongs to a different request; use a new key',
        );
      }
      throw error;
    }
  });

  app.get('/v1/jobs', authenticated, async (req: Request, res: Response) => {
    const query = parse(ListJobsQuery, req.query, 'invalid-parameter', '');
    try {
      const page = await listJobs(listReads, {
        owner: req.principal!,
        limit: query.limit,
        ...(query.status ? { status: query.status } : {}),
        ...(query.cursor ? { cursor: query.cursor } : {}),
      });
      sendJson(res, 200, { items: page.jobs.map(jobView), nextCursor: page.nextCursor });
    } catch (error) {
      if (error instanceof InvalidCursorError)
        throw new ProblemError('invalid-cursor', 'use a nextCursor this API returned');
      throw error;
    }
  });

  app.get('/v1/jobs/:id', authenticated, async (req: Request, res: Response) => {
    const job = await getJob(getReads, jobIdParam(req), req.principal!);
    if (!job) throw new ProblemError('job-not-found');
    sendJson(res, 200, jobView(job));
  });

  app.post('/v1/jobs/:id/cancel', authenticated, json, async (req: Request, res: Response) => {
    const id = jobIdParam(req);
    const result = await db.transaction((client) => cancelJob(client, id, req.principal!), {
      idempotent: true,
      deadlineMs: dbDeadlineMs,
      name: 'cancel job',
    });
    switch (result.outcome) {
      case 'not_found':
        throw new ProblemError('job-not-found');
      case 'finished':
        throw new ProblemError('job-finished', `the job already ended ${result.job.status}`);
      case 'cancelled':
        sendJson(res, 200, jobView(result.job));
        return;
      case 'cancel_requested':
        sendJson(res, 202, jobView(result.job));
    }
  });

  // An authenticated OPTIONS on a job route is answered 200 with `Allow` by Express itself (as when
  // these routes lived in a Router): leaving the app's router, not falling through to the 405.
  app.options(['/v1/jobs', '/v1/jobs/:id', '/v1/jobs/:id/cancel'], authenticated, json, (_req, _res, next) =>
    next('router'),
  );
}

/**
 * The pool as a @tether/jobs `Queryable` whose statements (plain reads, retried) each get the
 * deadline. Made once per route, not per request.
 */
function reads(db: TetherPgPool, deadlineMs: number, name: string): Queryable {
  const options = { deadlineMs, name };
  return {
    query: <R extends Record<string, unknown>>(text: string, values?: unknown[]) =>
      db.query<R>(text, values, options),
  };
}

/**
 * The `:id` path parameter. A well-formed id passes zod's own pattern (`z.guid()`, what `JobIdParams`
 * checks) without building a parse result; anything else goes through `JobIdParams` for the
 * problem's field errors.
 */
function jobIdParam(req: Request): string {
  const id = req.params['id'];
  if (typeof id === 'string' && z.regexes.guid.test(id)) return id;
  return parse(JobIdParams, req.params, 'invalid-parameter', '').id;
}

/**
 * `res.status(status).json(body)` without Express's per-call settings lookups and Content-Type
 * parsing: the same status, headers (`application/json; charset=utf-8`, Content-Length) and body;
 * a HEAD answer keeps the Content-Length and Node leaves the body out.
 */
function sendJson(res: Response, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.statusCode = status;
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.setHeader('content-length', Buffer.byteLength(text));
  res.end(text);
}

/** Parses `value` with `schema`, or throws the problem `slug` listing every field that is wrong. */
function parse<S extends z.ZodType>(
  schema: S,
  value: unknown,
  slug: 'invalid-body' | 'invalid-parameter',
  prefix: string,
): z.infer<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const errors: FieldError[] = result.error.issues.slice(0, 20).map((issue) => ({
    // RFC 6901: "" is the whole document, "/a/b" a member.
    pointer:
      prefix + issue.path.map((p) => `/${String(p).replaceAll('~', '~0').replaceAll('/', '~1')}`).join(''),
    detail: issue.message,
  }));
  throw new ProblemError(slug, errors.map((e) => `${e.pointer || '/'}: ${e.detail}`).join('; '), { errors });
}
