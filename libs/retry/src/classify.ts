import { type Classification, permanent, stringProp, transient, unknown } from './classification.ts';
import { classifyHttp } from './classify-http.ts';
import { classifyNetwork } from './classify-network.ts';
import { classifyPostgres } from './classify-postgres.ts';
import { classifyRedis } from './classify-redis.ts';

// Wrappers are unwrapped at most this deep: cause chains can be cyclic or absurdly long.
const MAX_DEPTH = 8;

const SAFETY_RANK: Record<Classification['safety'], number> = { always: 0, idempotent: 1, never: 2 };

/**
 * Classifies a thrown value: is it worth retrying, and is it safe for non-idempotent work? Looks at the
 * error itself first, then (when nothing matched) at its `cause` chain and the members of an
 * `AggregateError` (Node's connect error when a host name resolves to several addresses).
 */
export function classify(error: unknown): Classification {
  return { ...classifyAt(error, 0, new Set()) };
}

function classifyAt(error: unknown, depth: number, seen: Set<unknown>): Classification {
  const direct = classifyOwn(error);
  if (direct) return direct;
  if (typeof error !== 'object' || error === null || depth >= MAX_DEPTH || seen.has(error)) {
    return unknown(describeUnknown(error));
  }
  seen.add(error);
  const members = (error as { errors?: unknown }).errors;
  if (error instanceof AggregateError && Array.isArray(members) && members.length > 0) {
    return combine(members.map((m) => classifyAt(m, depth + 1, seen)));
  }
  const cause = (error as { cause?: unknown }).cause;
  if (cause !== undefined) return classifyAt(cause, depth + 1, seen);
  return unknown(describeUnknown(error));
}

function classifyOwn(error: unknown): Classification | undefined {
  return (
    classifyTether(error) ??
    classifyPostgres(error) ??
    // Before the abort rule: ioredis' own AbortError subclasses mean "connection closed", not "caller cancelled".
    classifyRedis(error) ??
    classifyNetwork(error) ??
    classifyHttp(error) ??
    classifyAbort(error)
  );
}

/** Errors of this library and of the other @tether libs (anything with a TETHER_* code and `retryable`). */
function classifyTether(error: unknown): Classification | undefined {
  const code = stringProp(error, 'code');
  if (code === undefined || !code.startsWith('TETHER_')) return undefined;
  const retryable = (error as { retryable?: unknown }).retryable;
  if (typeof retryable !== 'boolean') return undefined;
  switch (code) {
    // Nothing was sent; whether to wait for the breaker is the caller's decision.
    case 'TETHER_BREAKER_OPEN':
      return transient('always', 'circuit breaker open', code);
    // Already retried (or deliberately not) by a policy below us: retrying again would multiply
    // attempts layer by layer, the classic retry amplification.
    case 'TETHER_RETRY_EXHAUSTED':
    case 'TETHER_RETRY_BUDGET_EXHAUSTED':
    case 'TETHER_DEADLINE_EXCEEDED':
      return permanent(`already retried (${code})`, code);
  }
  if (!retryable) return permanent(code, code);
  // Another lib can state how safe a retry is (e.g. a pool checkout timeout: nothing was sent).
  const safety = stringProp(error, 'safety');
  return transient(safety === 'always' || safety === 'never' ? safety : 'idempotent', code, code);
}

function classifyAbort(error: unknown): Classification | undefined {
  const name = stringProp(error, 'name');
  // AbortSignal.timeout() and undici's timeouts: the work may have run, the dependency was slow.
  if (name === 'TimeoutError') return transient('idempotent', 'timeout', name);
  // The caller (or a shutdown) cancelled the work: it no longer wants the answer.
  if (name === 'AbortError' || stringProp(error, 'code') === 'ABORT_ERR')
    return permanent('aborted by the caller', 'AbortError');
  return undefined;
}

/** Several attempts failed at once (one per address): retry only if all were transient, as safely as the worst. */
function combine(parts: Classification[]): Classification {
  const known = parts.filter((p) => p.kind !== 'unknown');
  if (known.length === 0) return unknown('aggregate of unclassified errors');
  const permanentPart = known.find((p) => p.kind === 'permanent');
  if (permanentPart) return permanentPart;
  const worst = known.reduce((a, b) => (SAFETY_RANK[b.safety] > SAFETY_RANK[a.safety] ? b : a));
  return { ...worst, reason: `aggregate: ${[...new Set(known.map((p) => p.reason))].join(', ')}` };
}

function describeUnknown(error: unknown): string {
  if (error instanceof Error) return `unclassified ${error.name}`;
  return `unclassified ${typeof error}`;
}
