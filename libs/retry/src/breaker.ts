import { metrics, type Meter } from '@opentelemetry/api';
import {
  CircuitState,
  ConsecutiveBreaker,
  SamplingBreaker,
  circuitBreaker,
  handleWhen,
  isBrokenCircuitError,
  type CircuitBreakerPolicy,
  type IBreaker,
} from 'cockatiel';
import { classify } from './classify.ts';
import { BreakerOpenError } from './errors.ts';
import {
  functionOption,
  MAX_TIMER_MS,
  numberOption,
  objectOption,
  requiredStringOption,
  TetherInvalidOptionError,
} from '@tether/errors';

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface CircuitBreakerOptions {
  /** The dependency this breaker guards (`postgres`, `redis`, `billing-api`); a metric attribute. Required. */
  name: string;
  /** Open after this many consecutive failures. Default 5. Ignored when `sampling` is set. */
  consecutiveFailures?: number;
  /**
   * Open when more than `threshold` (strictly between 0 and 1) of the calls in the last `durationMs`
   * failed, once at least `minimumRps` calls per second flow (default: enough for 5 failures/s at the
   * threshold, cockatiel's choice). Default: unset (consecutive counting).
   */
  sampling?: { threshold: number; durationMs: number; minimumRps?: number };
  /** How long the breaker stays open before letting one probe call through (half-open). Default 10000 ms. */
  halfOpenAfterMs?: number;
  /**
   * Which errors count as the dependency failing. Default: transient errors (connection refused, reset,
   * timeouts, 57P01…); a syntax error or a cancelled call says nothing about the dependency's health.
   */
  isFailure?: (error: unknown) => boolean;
  /** Meter for `tether.breaker.*` metrics. Default `metrics.getMeter('@tether/retry')`. */
  meter?: Meter;
}

const STATE_VALUE: Record<BreakerState, number> = { closed: 0, 'half-open': 1, open: 2 };

function defaultIsFailure(error: unknown): boolean {
  const c = classify(error);
  // Serialization failures and deadlocks are contention between transactions, not an outage.
  return c.kind === 'transient' && !c.retryTransaction;
}

function isCancellation(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { name?: unknown }).name === 'AbortError';
}

function toState(state: CircuitState): BreakerState {
  switch (state) {
    case CircuitState.Closed:
      return 'closed';
    case CircuitState.HalfOpen:
      return 'half-open';
    default:
      return 'open';
  }
}

/**
 * A circuit breaker for one dependency, built on cockatiel's CircuitBreakerPolicy (state machine) and
 * its ConsecutiveBreaker / SamplingBreaker (when to open). What it adds: Tether's error type, failure
 * detection from `classify()`, fail-fast while a half-open probe is in flight, and OpenTelemetry metrics.
 */
export class CircuitBreaker {
  readonly name: string;
  readonly halfOpenAfterMs: number;
  #policy: CircuitBreakerPolicy;
  #listeners = new Set<(state: BreakerState) => void>();

  constructor(options: CircuitBreakerOptions) {
    objectOption('options', options);
    this.name = requiredStringOption('name', options.name);
    this.halfOpenAfterMs = numberOption('halfOpenAfterMs', options.halfOpenAfterMs, 10_000, {
      min: 1,
      max: MAX_TIMER_MS,
    });
    const isFailure = functionOption('isFailure', options.isFailure, defaultIsFailure);
    // cockatiel counts an error its filter rejects as a success, and one success closes a half-open
    // breaker. A cancelled probe proves nothing about the dependency, so it must not close it.
    const probeCancelled = (error: unknown) =>
      this.#policy.state === CircuitState.HalfOpen && isCancellation(error);
    this.#policy = circuitBreaker(
      handleWhen((error) => isFailure(error) || probeCancelled(error)),
      {
        halfOpenAfter: this.halfOpenAfterMs,
        breaker: makeBreaker(options),
      },
    );

    const meter = options.meter ?? metrics.getMeter('@tether/retry');
    const attributes = { 'tether.dependency': this.name };
    const transitions = meter.createCounter('tether.breaker.transitions', {
      description: 'Circuit breaker state changes, by the state entered',
    });
    meter
      .createObservableGauge('tether.breaker.state', {
        description: 'Circuit breaker state: 0 closed, 1 half-open, 2 open',
      })
      .addCallback((result) => result.observe(STATE_VALUE[this.state], attributes));
    this.#policy.onStateChange((s) => {
      const state = toState(s);
      transitions.add(1, { ...attributes, 'tether.breaker.state': state });
      for (const listener of this.#listeners) listener(state);
    });
  }

  get state(): BreakerState {
    return toState(this.#policy.state);
  }

  /** Subscribes to state changes; returns the unsubscribe function. */
  onStateChange(listener: (state: BreakerState) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Runs `fn` unless the breaker is open. Throws BreakerOpenError (TETHER_BREAKER_OPEN) without calling
   * `fn` when open, and also while the half-open probe is in flight: cockatiel would queue those calls
   * behind the probe, which turns a fast failure into a wait as long as the probe's timeout.
   */
  async execute<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#policy.state === CircuitState.HalfOpen) throw this.#openError();
    try {
      return await this.#policy.execute(() => fn());
    } catch (error) {
      if (isBrokenCircuitError(error)) throw this.#openError();
      throw error;
    }
  }

  #openError(): BreakerOpenError {
    const last = this.#policy.lastFailure;
    return new BreakerOpenError(this.name, last && 'error' in last ? last.error : undefined);
  }
}

function makeBreaker(options: CircuitBreakerOptions): IBreaker {
  if (options.sampling !== undefined) {
    const s = options.sampling;
    const threshold = s.threshold;
    if (typeof threshold !== 'number' || !(threshold > 0 && threshold < 1)) {
      throw new TetherInvalidOptionError('sampling.threshold', 'must be a number strictly between 0 and 1', {
        value: threshold,
      });
    }
    if (s.durationMs === undefined) throw new TetherInvalidOptionError('sampling.durationMs', 'is required');
    const duration = numberOption('sampling.durationMs', s.durationMs, Number.NaN, { min: 1 });
    // Undefined lets cockatiel pick its default: enough traffic for 5 failures per second at the threshold.
    const minimumRps =
      s.minimumRps === undefined
        ? undefined
        : numberOption('sampling.minimumRps', s.minimumRps, 0, { min: 0 });
    return new SamplingBreaker({ threshold, duration, ...(minimumRps === undefined ? {} : { minimumRps }) });
  }
  return new ConsecutiveBreaker(
    numberOption('consecutiveFailures', options.consecutiveFailures, 5, { min: 1, integer: true }),
  );
}
