import type { TetherPgPool } from '@tether/pooling';
import express, { type NextFunction, type Request, type Response } from 'express';
import { requireAuth, type Authenticate } from './auth.ts';
import { buildOpenApiDocument } from './openapi.ts';
import { outageProblem } from './outage.ts';
import { problemDocsRouter } from './problem-docs.ts';
import { ProblemError, sendProblem } from './problems.ts';
import { addJobRoutes } from './routes/jobs.ts';

export interface ApiOptions {
  db: TetherPgPool;
  authenticate: Authenticate;
  /** Deadline of one request's database work, retries included, ms. Default 3000. */
  dbDeadlineMs?: number;
  /** How long an Idempotency-Key identifies its job, ms. Default 24 h. */
  idempotencyTtlMs?: number;
  /** Largest accepted request body. Default '64kb'. */
  bodyLimit?: string;
  /** Receives errors answered with 500 (bugs), for logging. */
  onInternalError?: (error: unknown, req: Request) => void;
}

const ROUTES: { pattern: RegExp; methods: string[] }[] = [
  { pattern: /^\/v1\/jobs\/?$/, methods: ['GET', 'POST'] },
  { pattern: /^\/v1\/jobs\/[^/]+\/?$/, methods: ['GET'] },
  { pattern: /^\/v1\/jobs\/[^/]+\/cancel\/?$/, methods: ['POST'] },
  { pattern: /^\/openapi\.json$/, methods: ['GET'] },
  { pattern: /^\/problems(\/[^/]+)?\/?$/, methods: ['GET'] },
];

/** The jobs API as an Express app (main.ts serves it; tests serve it on a real socket too). */
export function createApi(options: ApiOptions): express.Express {
  const idempotencyTtlMs = options.idempotencyTtlMs ?? 24 * 60 * 60 * 1000;
  const openapi = JSON.stringify(buildOpenApiDocument({ idempotencyTtlMs }));
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');

  const authenticated = requireAuth(options.authenticate);
  const json = express.json({
    limit: options.bodyLimit ?? '64kb',
    type: ['application/json', 'application/*+json'],
  });
  // First, so the hot GET /v1/jobs/:id walks no other layer; each route authenticates itself.
  addJobRoutes(app, {
    db: options.db,
    dbDeadlineMs: options.dbDeadlineMs ?? 3_000,
    idempotencyTtlMs,
    authenticated,
    json,
  });
  app.get('/openapi.json', (_req, res) => {
    res.type('application/json').send(openapi);
  });
  app.use(problemDocsRouter());
  // Everything else: authenticated and parsed as before any route, then 404 or 405.
  app.use(authenticated);
  app.use(json);
  app.use((req: Request) => {
    const route = ROUTES.find((r) => r.pattern.test(req.path));
    if (route) {
      throw new ProblemError('method-not-allowed', `use ${route.methods.join(' or ')}`, {
        headers: { allow: route.methods.join(', ') },
      });
    }
    throw new ProblemError('not-found');
  });
  app.use((error: unknown, req: Request, res: Response, _next: NextFunction) => {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const send = (failure: unknown): void =>
      sendProblem(res, toProblem(failure, req, options.onInternalError), req.originalUrl.split('?')[0]);
    // A job path that is not valid percent-encoding fails in the router, before the route's own
    // auth ran: authenticate first, so an anonymous caller gets 401 here as everywhere else.
    if (error instanceof URIError && req.principal === undefined) {
      try {
        void Promise.resolve(
          authenticated(req, res, (authError?: unknown) => send(authError ?? error)),
        ).catch(send);
      } catch (authError) {
        send(authError);
      }
      return;
    }
    send(error);
  });
  return app;
}

/** body-parser's own failures, by its `type` field: all of them are the client's. */
const BODY_ERRORS: Record<string, ProblemError['slug']> = {
  'entity.parse.failed': 'malformed-json',
  'entity.too.large': 'payload-too-large',
  'charset.unsupported': 'unsupported-media-type',
  'encoding.unsupported': 'unsupported-media-type',
  'entity.verify.failed': 'malformed-json',
  'request.size.invalid': 'malformed-json',
  'request.aborted': 'malformed-json',
  'stream.encoding.set': 'internal-error',
};

function toProblem(
  error: unknown,
  req: Request,
  onInternalError: ApiOptions['onInternalError'],
): ProblemError {
  if (error instanceof ProblemError) return error;
  const bodyType = (error as { type?: unknown } | null)?.type;
  if (typeof bodyType === 'string' && BODY_ERRORS[bodyType] && BODY_ERRORS[bodyType] !== 'internal-error') {
    return new ProblemError(BODY_ERRORS[bodyType]!);
  }
  // Express's own: a path parameter that is not valid percent-encoding.
  if (error instanceof URIError)
    return new ProblemError('invalid-parameter', 'the path is not valid percent-encoding');
  const outage = outageProblem(error);
  if (outage) return outage;
  onInternalError?.(error, req);
  return new ProblemError('internal-error');
}
