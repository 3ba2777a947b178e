import type { Meter, Tracer } from '@opentelemetry/api';
import { OutageTracker } from '@tether/outage';
import {
  type CircuitBreaker,
  type Classification,
  createRetryPolicy,
  type RetryBudget,
  type RetryPolicy,
} from '@tether/retry';

/** setTimeout's limit: the policy's own deadline never fires; each call's `deadlineMs` is the real bound. */
const MAX_TIMER_MS = 2_147_483_647;

/** What a Postgres pool and a Redis client share: a name, an address, retry settings, OTel handles. */
export interface DependencyOptions {
  name: string;
  host: string;
  port: number;
  retry: {
    maxAttempts: number;
    initialDelayMs: number;
    maxDelayMs: number;
    budget?: RetryBudget | undefined;
    breaker?: CircuitBreaker | undefined;
  };
  tracer: Tracer | undefined;
  meter: Meter | undefined;
}

/** The outage tracker and retry policy of one dependency (a Postgres pool, a Redis client). */
export function dependencyResilience(
  system: 'postgresql' | 'redis',
  opts: DependencyOptions,
  classify?: (error: unknown) => Classification,
): { outage: OutageTracker; policy: RetryPolicy } {
  const telemetry = {
    ...(opts.tracer ? { tracer: opts.tracer } : {}),
    ...(opts.meter ? { meter: opts.meter } : {}),
  };
  const outage = new OutageTracker({
    dependency: opts.name,
    attributes: { 'db.system.name': system, 'server.address': opts.host, 'server.port': opts.port },
    ...telemetry,
  });
  const policy = createRetryPolicy({
    name: opts.name,
    maxAttempts: opts.retry.maxAttempts,
    initialDelayMs: opts.retry.initialDelayMs,
    maxDelayMs: opts.retry.maxDelayMs,
    jitter: 'decorrelated',
    deadlineMs: MAX_TIMER_MS,
    ...(opts.retry.budget ? { budget: opts.retry.budget } : {}),
    ...(opts.retry.breaker ? { breaker: opts.retry.breaker } : {}),
    ...(classify ? { classify } : {}),
    ...telemetry,
  });
  return { outage, policy };
}
