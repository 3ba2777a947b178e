import { type Classification, permanent, transient, unknown } from './classification.ts';
import { parseRetryAfter } from './retry-after.ts';

// 408 and 429 mean the server did not process the request (incomplete request, rate limited).
// 502/503/504 may come from a proxy that already forwarded it.
const STATUSES = new Map<number, () => Classification>([
  [408, () => transient('always', 'HTTP 408 request timeout', '408')],
  [429, () => transient('always', 'HTTP 429 too many requests', '429')],
  [502, () => transient('idempotent', 'HTTP 502 bad gateway', '502')],
  [503, () => transient('idempotent', 'HTTP 503 service unavailable', '503')],
  [504, () => transient('idempotent', 'HTTP 504 gateway timeout', '504')],
]);

type HeaderSource = { get(name: string): string | null } | Record<string, unknown>;

interface HttpShape {
  status: number;
  headers: HeaderSource | undefined;
}

/**
 * Recognises a fetch `Response`, an error with `status`/`statusCode` (+ `headers`), or an error with a
 * `response` holding them (got, axios, ky style).
 */
function httpShape(value: unknown): HttpShape | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  const status = typeof v['status'] === 'number' ? v['status'] : v['statusCode'];
  if (typeof status === 'number' && Number.isInteger(status) && status >= 100 && status <= 599) {
    const headers = v['headers'];
    return {
      status,
      headers: typeof headers === 'object' && headers !== null ? (headers as HeaderSource) : undefined,
    };
  }
  return 'response' in v ? httpShape(v['response']) : undefined;
}

function header(headers: HeaderSource | undefined, name: string): string | undefined {
  if (!headers) return undefined;
  if (typeof headers['get'] === 'function')
    return (headers as { get(n: string): string | null }).get(name) ?? undefined;
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() !== name) continue;
    if (typeof value === 'string') return value;
    if (Array.isArray(value) && typeof value[0] === 'string') return value[0];
  }
  return undefined;
}

export function classifyHttp(value: unknown): Classification | undefined {
  const http = httpShape(value);
  if (!http) return undefined;
  const c = STATUSES.get(http.status)?.() ?? byClass(http.status);
  if (!c) return undefined;
  const retryAfterMs = parseRetryAfter(header(http.headers, 'retry-after'));
  if (retryAfterMs !== undefined && c.kind === 'transient') c.retryAfterMs = retryAfterMs;
  return c;
}

/** Statuses without a rule: a 5xx might be anything, a 4xx is about the request itself, others are not errors. */
function byClass(status: number): Classification | undefined {
  const code = String(status);
  if (status >= 500) return unknown(`HTTP ${code}`, code);
  if (status >= 400) return permanent(`HTTP ${code}`, code);
  return undefined;
}
