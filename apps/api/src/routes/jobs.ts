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
import { Router, type Request, type Response } from 'express';
import type * as z from 'zod';
import { parseIdempotencyKey } from '../idempotency-key.ts';
import { isJobType } from '../job-types.ts';
import { ProblemError, type FieldError } from '../problems.ts';
import { CreateJobBody, JobIdParams, jobView, ListJobsQuery } from '../schemas.ts';

export interface JobsRouteOptions {
  db: TetherPgPool;
  /** Deadline of the database work of one request, every retry included, ms. */
  dbDeadlineMs: number;
  idempotencyTtlMs: number;
}

export function jobsRouter({ db, dbDeadlineMs, idempotencyTtlMs }: JobsRouteOptions): Router {
  const router = Router();

  router.post('/v1/jobs', async (req: Request, res: Response) => {
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
      res.status(202).location(`/v1/jobs/${job.id}`);
      if (!created) res.setHeader('idempotent-replayed', 'true');
      // A replay answers what the first request answered: the job as it was accepted.
      res.json({ id: job.id, status: 'queued' });
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

  router.get('/v1/jobs', async (req: Request, res: Response) => {
    const query = parse(ListJobsQuery, req.query, 'invalid-parameter', '');
    try {
      const page = await listJobs(reads(db, dbDeadlineMs, 'list jobs'), {
        owner: req.principal!,
        limit: query.limit,
        ...(query.status ? { status: query.status } : {}),
        ...(query.cursor ? { cursor: query.cursor } : {}),
      });
      res.json({ items: page.jobs.map(jobView), nextCursor: page.nextCursor });
    } catch (error) {
      if (error instanceof InvalidCursorError)
        throw new ProblemError('invalid-cursor', 'use a nextCursor this API returned');
      throw error;
    }
  });

  router.get('/v1/jobs/:id', async (req: Request, res: Response) => {
    const { id } = parse(JobIdParams, req.params, 'invalid-parameter', '');
    const job = await getJob(reads(db, dbDeadlineMs, 'get job'), id, req.principal!);
    if (!job) throw new ProblemError('job-not-found');
    res.json(jobView(job));
  });

  router.post('/v1/jobs/:id/cancel', async (req: Request, res: Response) => {
    const { id } = parse(JobIdParams, req.params, 'invalid-parameter', '');
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
        res.status(200).json(jobView(result.job));
        return;
      case 'cancel_requested':
        res.status(202).json(jobView(result.job));
    }
  });

  return router;
}

/** The pool as a @tether/jobs `Queryable` whose statements (plain reads, retried) share one deadline. */
function reads(db: TetherPgPool, deadlineMs: number, name: string): Queryable {
  return {
    query: <R extends Record<string, unknown>>(text: string, values?: unknown[]) =>
      db.query<R>(text, values, { deadlineMs, name }),
  };
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
