/** What `classify()` concludes about an error: whether, and how safely, the failed work can be retried. */
export interface Classification {
  /** `transient`: the dependency may well succeed if asked again; `permanent`: it will not; `unknown`: no rule matched. */
  kind: 'transient' | 'permanent' | 'unknown';
  /**
   * `always`: proven that nothing reached the server (connection refused, 57P03…), safe even for non-idempotent work.
   * `idempotent`: the request may have been executed; retry only idempotent work.
   * `never`: do not retry this unit of work (permanent errors, 08007 commit outcome unknown, 40001 inside a transaction).
   */
  safety: 'always' | 'idempotent' | 'never';
  /** 40001 / 40P01: the whole transaction was rolled back and should be run again from its first statement. */
  retryTransaction: boolean;
  /** Short human-readable reason, e.g. `57P01 admin_shutdown`. Goes into span events and metric attributes. */
  reason: string;
  /** The error's own code (SQLSTATE, errno, HTTP status, TETHER_* code) when it has one. */
  code?: string;
  /** How long the server asked us to wait (`Retry-After`), in milliseconds. */
  retryAfterMs?: number;
}

export function transient(
  safety: 'always' | 'idempotent' | 'never',
  reason: string,
  code?: string,
): Classification {
  return withCode({ kind: 'transient', safety, retryTransaction: false, reason }, code);
}

export function permanent(reason: string, code?: string): Classification {
  return withCode({ kind: 'permanent', safety: 'never', retryTransaction: false, reason }, code);
}

export function unknown(reason: string, code?: string): Classification {
  return withCode({ kind: 'unknown', safety: 'never', retryTransaction: false, reason }, code);
}

function withCode(c: Classification, code: string | undefined): Classification {
  if (code !== undefined) c.code = code;
  return c;
}

/** Reads a string property without trusting the shape of a thrown value. */
export function stringProp(value: unknown, key: string): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = (value as Record<string, unknown>)[key];
  return typeof v === 'string' ? v : undefined;
}

export function messageOf(value: unknown): string {
  return stringProp(value, 'message') ?? '';
}
