import { classify } from '@tether/retry';
import { PROBLEMS, ProblemError } from './problems.ts';

/**
 * SQLSTATEs meaning the schema is not there yet (tether-migrate has not run): the request can succeed
 * later, so it is a 503 like an outage, not a 500.
 */
const SCHEMA_MISSING = new Set(['42P01', '42883', '3F000']);

/**
 * Errors of @tether/pooling / @tether/retry that mean "the dependency did not answer in time": the
 * codes the 503 problem page lists (one list, so the page and the answers cannot drift apart).
 */
const GAVE_UP: ReadonlySet<string> = new Set(
  // The auth lib's outage (JWKS unreachable) is answered by auth.ts with its own Retry-After.
  PROBLEMS['service-unavailable'].codes.filter((code) => code !== 'TETHER_AUTH_KEYS_UNAVAILABLE'),
);

/** Seconds a client should wait before retrying after an outage answer. */
export const RETRY_AFTER_S = 2;

/**
 * The 503 problem for an error that is a dependency outage (the database is down, restarting,
 * overloaded, reached its deadline, or lacks its schema), or undefined when it is something else
 * (a bug: 500). A commit whose outcome is unknown is a 503 too: the client retries, with its
 * Idempotency-Key if it sent one, and gets the job that may have been created.
 */
export function outageProblem(error: unknown): ProblemError | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  const isOutage =
    (typeof code === 'string' && (GAVE_UP.has(code) || SCHEMA_MISSING.has(code))) ||
    classify(error).kind === 'transient';
  if (!isOutage) return undefined;
  return new ProblemError('service-unavailable', 'the database is unavailable; retry later', {
    headers: { 'retry-after': String(RETRY_AFTER_S) },
    cause: error,
  });
}
