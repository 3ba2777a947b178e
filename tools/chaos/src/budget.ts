/**
 * Budgets: what a scenario must show to pass. One check per promise, each with its measured value,
 * so a failed run says which promise broke and by how much.
 */
import type { Attempt, RequestRecord } from './load.ts';

/** One budget line. `value` null means "could not be measured", which fails the check. */
export interface Check {
  name: string;
  value: number | null;
  /** Largest passing value. */
  limit: number;
  unit: string;
  ok: boolean;
}

export function check(name: string, value: number | null, limit: number, unit = ''): Check {
  return { name, value, limit, unit, ok: value !== null && Number.isFinite(value) && value <= limit };
}

/** The time budgets of issue #15, ms. */
export const BUDGET = {
  /** First success within 1 s of the dependency returning. */
  recoveryMs: 1_000,
  /** Dead connections detected within 30 s. */
  detectionMs: 30_000,
  /** A dead worker's jobs resumed within 30 s. */
  resumeMs: 30_000,
} as const;

export interface RequestCounts {
  idempotent: number;
  failedIdempotent: number;
  nonIdempotent: number;
  failedNonIdempotent: number;
  /** Attempts that failed (what a client without retries would have seen). */
  failedAttempts: number;
  attempts: number;
  /** Requests not sent because the client had `maxInFlight` under way (an outage's backlog). */
  skipped: number;
  /** Failed attempts by HTTP status or network error code. */
  failuresByOutcome: Record<string, number>;
}

export function countRequests(requests: RequestRecord[], attempts: Attempt[], skipped = 0): RequestCounts {
  const idem = requests.filter((r) => r.idempotent);
  const other = requests.filter((r) => !r.idempotent);
  return {
    idempotent: idem.length,
    failedIdempotent: idem.filter((r) => !r.ok).length,
    nonIdempotent: other.length,
    failedNonIdempotent: other.filter((r) => !r.ok).length,
    failedAttempts: attempts.filter((a) => !a.ok).length,
    attempts: attempts.length,
    skipped,
    failuresByOutcome: attempts
      .filter((a) => !a.ok)
      .reduce<Record<string, number>>((acc, a) => ({ ...acc, [a.outcome]: (acc[a.outcome] ?? 0) + 1 }), {}),
  };
}

/** First successful HTTP attempt ending at or after `backMs`, as ms after `backMs`. */
export function httpRecoveryMs(attempts: Attempt[], backMs: number): number | null {
  const first = attempts
    .filter((a) => a.ok && a.endMs >= backMs)
    .reduce((min, a) => Math.min(min, a.endMs), Infinity);
  return Number.isFinite(first) ? first - backMs : null;
}

/** First failed HTTP attempt ending at or after `faultMs`, as ms after `faultMs`. */
export function httpDetectionMs(attempts: Attempt[], faultMs: number): number | null {
  const first = attempts
    .filter((a) => !a.ok && a.endMs >= faultMs)
    .reduce((min, a) => Math.min(min, a.endMs), Infinity);
  return Number.isFinite(first) ? first - faultMs : null;
}

/** A fault's window: from its start until it was over (a rollout: its last old replica exited). */
export interface Window {
  startMs: number;
  endMs?: number;
}

/** Failed attempts that overlap `window`. */
function failedDuring(attempts: Attempt[], window: Window): Attempt[] {
  const endMs = window.endMs ?? Infinity;
  return attempts.filter((a) => !a.ok && a.endMs >= window.startMs && a.startMs <= endMs);
}

/**
 * A rollout's extra budget line, the same for the platform and its control: every attempt during
 * the rollout succeeds. A refused or reset connection or a request cut mid-way is what a browser shows
 * its user (it retries none of them for a POST), whatever a well-behaved API client would retry.
 */
export function rolloutChecks(attempts: Attempt[], window: Window): Check[] {
  return [check('failed attempts during the rollout', failedDuring(attempts, window).length, 0)];
}

/** What the attempts that failed during the rollout were (method and outcome), for the report. */
export function rolloutNotes(attempts: Attempt[], window: Window): string[] {
  const failed = failedDuring(attempts, window);
  if (failed.length === 0) return [];
  const byOutcome = new Map<string, number>();
  for (const a of failed) {
    const what = `${a.kind.toUpperCase()} ${a.outcome}`;
    byOutcome.set(what, (byOutcome.get(what) ?? 0) + 1);
  }
  const list = [...byOutcome].map(([what, n]) => `${n} x ${what}`).join(', ');
  return [`${failed.length} attempts failed during the rollout: ${list}`];
}
