import { metrics, trace, type Counter, type Meter, type Tracer } from '@opentelemetry/api';
import { sleep, raceAbort } from './abort.ts';
import { markAttempts } from './attempt-count.ts';
import { AttemptRecord, attemptClassification, mayRetryAttempt } from './attempt-safety.ts';
import { AttemptTrace, type Outcome } from './attempt-trace.ts';
import {
  createBackoff,
  resolveBackoffOptions,
  type BackoffOptions,
  type ResolvedBackoffOptions,
} from './backoff.ts';
import { CircuitBreaker } from './breaker.ts';
import { RetryBudget } from './budget.ts';
import type { Classification } from './classification.ts';
import { classify as defaultClassify } from './classify.ts';
import {
  BreakerOpenError,
  DeadlineExceededError,
  RetryBudgetExhaustedError,
  RetryExhaustedError,
} from './errors.ts';
import {
  functionOption,
  MAX_TIMER_MS,
  numberOption,
  objectOption,
  requiredStringOption,
  TetherInvalidOptionError,
} from '@tether/errors';

export interface RetryPolicyOptions extends BackoffOptions {
  /** The dependency (`postgres`, `redis`, `billing-api`): span name and metric attribute. Required. */
  name: string;
  /** Attempts in total, the first one included. Default 3. */
  maxAttempts?: number;
  /** Hard limit on a whole `execute()` call, every attempt and delay included. Default 10000 ms, at most 2^31-1 ms. */
  deadlineMs?: number;
  /** Retry tokens shared by every policy for this dependency. Default: none (no budget). */
  budget?: RetryBudget;
  /** Circuit breaker shared by every policy for this dependency. Default: none. */
  breaker?: CircuitBreaker;
  /** Replaces the built-in `classify()`, e.g. to add an application's own errors. */
  classify?: (error: unknown) => Classification;
  /** Tracer for the `retry <operation>` spans. Default `trace.getTracer('@tether/retry')`. */
  tracer?: Tracer;
  /** Meter for the `tether.retry.*` counters. Default `metrics.getMeter('@tether/retry')`. */
  meter?: Meter;
}

export interface AttemptContext {
  /** Aborted when the call's deadline passes or the caller's signal aborts: pass it to the driver. */
  signal: AbortSignal;
  /** 1 for the first attempt. */
  attempt: number;
  /**
   * What this attempt has sent. A `fn` that sends several commands wraps each in `trackCommand(ctx.sent, …)`:
   * once one was sent, a later "nothing was sent" error no longer makes the attempt safe to re-run.
   */
  sent: AttemptRecord;
}

export interface CallOptions {
  /** The operation can run twice without harm (a SELECT, a GET, an upsert with a key). Default false. */
  idempotent?: boolean;
  /**
   * `fn` is a whole transaction, from BEGIN to COMMIT, with no side effects outside it: a serialization
   * failure or deadlock (40001, 40P01) rolled all of it back, so running it again is safe. Default false.
   */
  transaction?: boolean;
  /** The caller's cancellation (an HTTP request's, a shutdown's). */
  signal?: AbortSignal;
  /** A tighter deadline for this call, in ms; the policy's `deadlineMs` still applies. */
  deadlineMs?: number;
  /** Operation name for the span (`retry <name>`). Default: the policy's name. */
  name?: string;
}

export interface RetryPolicy {
  readonly name: string;
  execute<T>(fn: (ctx: AttemptContext) => Promise<T>, call?: CallOptions): Promise<T>;
}

interface Instruments {
  retries: Counter;
  budgetExhausted: Counter;
}

export function createRetryPolicy(options: RetryPolicyOptions): RetryPolicy {
  return new Policy(options);
}

class Policy implements RetryPolicy {
  readonly name: string;
  #maxAttempts: number;
  #deadlineMs: number;
  #backoff: ResolvedBackoffOptions;
  #budget: RetryBudget | undefined;
  #breaker: CircuitBreaker | undefined;
  #classify: (error: unknown) => Classification;
  #tracer: Tracer;
  #instruments: Instruments;

  constructor(options: RetryPolicyOptions) {
    objectOption('options', options);
    this.name = requiredStringOption('name', options.name);
    this.#maxAttempts = numberOption('maxAttempts', options.maxAttempts, 3, { min: 1, integer: true });
    this.#deadlineMs = numberOption('deadlineMs', options.deadlineMs, 10_000, { min: 1, max: MAX_TIMER_MS });
    this.#backoff = resolveBackoffOptions(options);
    if (options.budget !== undefined && !(options.budget instanceof RetryBudget)) {
      throw new TetherInvalidOptionError('budget', 'must be a RetryBudget', { value: options.budget });
    }
    if (options.breaker !== undefined && !(options.breaker instanceof CircuitBreaker)) {
      throw new TetherInvalidOptionError('breaker', 'must be a CircuitBreaker', { value: options.breaker });
    }
    this.#budget = options.budget;
    this.#breaker = options.breaker;
    this.#classify = functionOption('classify', options.classify, defaultClassify);
    this.#tracer = options.tracer ?? trace.getTracer('@tether/retry');
    const meter = options.meter ?? metrics.getMeter('@tether/retry');
    this.#instruments = {
      retries: meter.createCounter('tether.retry.retries', {
        description: 'Retries performed (attempts after the first)',
      }),
      budgetExhausted: meter.createCounter('tether.retry.budget_exhausted', {
        description: 'Retries refused because the retry budget was spent',
      }),
    };
  }

  async execute<T>(fn: (ctx: AttemptContext) => Promise<T>, call: CallOptions = {}): Promise<T> {
    if (typeof fn !== 'function')
      throw new TetherInvalidOptionError('fn', 'must be a function', { value: fn });
    const callDeadlineMs = numberOption('deadlineMs', call.deadlineMs, this.#deadlineMs, {
      min: 0,
      max: MAX_TIMER_MS,
    });
    const deadlineMs = Math.min(this.#deadlineMs, callDeadlineMs);
    const operation = call.name ?? this.name;
    if (call.signal?.aborted) throw call.signal.reason;

    const deadlineAt = performance.now() + deadlineMs;
    const controller = new AbortController();
    const timer = setTimeout(
      () => controller.abort(new DOMException('the operation deadline passed', 'TimeoutError')),
      deadlineMs,
    );
    const onCallerAbort = () => controller.abort(call.signal?.reason);
    call.signal?.addEventListener('abort', onCallerAbort, { once: true });

    const span = new AttemptTrace(this.#tracer, operation, {
      'tether.dependency': this.name,
      'tether.retry.idempotent': call.idempotent === true,
    });
    const backoff = createBackoff(this.#backoff);
    const dependency = { 'tether.dependency': this.name };
    this.#budget?.recordRequest();

    let attempt = 0;
    let lastError: unknown;
    let outcome: Outcome = 'success';
    try {
      for (;;) {
        attempt++;
        const sent = new AttemptRecord();
        try {
          const result = await span.run(() => this.#attempt(fn, attempt, controller.signal, sent));
          span.succeeded(attempt);
          return result;
        } catch (error) {
          if (controller.signal.aborted) {
            span.failed(
              attempt,
              attemptClassification(this.#classify(error), sent.anySent),
              error,
              'give_up',
              0,
            );
            throw this.#aborted(call, deadlineMs, attempt, error, lastError);
          }
          if (error instanceof BreakerOpenError) {
            outcome = 'breaker_open';
            throw error;
          }
          lastError = error;
          const c = attemptClassification(this.#classify(error), sent.anySent);
          const giveUp = (o: Outcome, e: unknown): unknown => {
            outcome = o;
            span.failed(attempt, c, error, 'give_up', 0);
            return e;
          };
          if (!mayRetryAttempt(c, sent.anySent, call)) {
            // The caller gets its own error, whatever the attempt (`err.code === '23505'` holds during a
            // blip too); the count is on the error (`attemptsOf`) and, after a retry, on the span.
            markAttempts(error, attempt);
            if (attempt === 1) {
              outcome = 'not_retryable';
              throw error;
            }
            throw giveUp('not_retryable', error);
          }
          if (attempt >= this.#maxAttempts) {
            throw giveUp(
              'exhausted',
              attempt === 1 ? error : new RetryExhaustedError(operation, attempt, error),
            );
          }
          // Retry-After is the server's own estimate: never come back sooner than it asked.
          const delayMs = Math.max(backoff.next(), c.retryAfterMs ?? 0);
          if (performance.now() + delayMs >= deadlineAt) {
            throw giveUp('deadline', new DeadlineExceededError(operation, deadlineMs, attempt, error));
          }
          // The failure just recorded may have opened the breaker: the next attempt would fail fast anyway.
          if (this.#breaker?.state === 'open') {
            throw giveUp('breaker_open', new BreakerOpenError(this.#breaker.name, error));
          }
          if (this.#budget && !this.#budget.tryWithdraw()) {
            this.#instruments.budgetExhausted.add(1, dependency);
            throw giveUp('budget_exhausted', new RetryBudgetExhaustedError(operation, attempt, error));
          }
          span.failed(attempt, c, error, 'retry', delayMs);
          this.#instruments.retries.add(1, { ...dependency, 'tether.retry.reason': c.reason });
          try {
            await sleep(delayMs, controller.signal);
          } catch (abort) {
            throw this.#aborted(call, deadlineMs, attempt, abort, lastError);
          }
        }
      }
    } catch (error) {
      if (error instanceof DeadlineExceededError) outcome = 'deadline';
      else if (call.signal?.aborted && error === call.signal.reason) outcome = 'cancelled';
      else if (outcome === 'success') outcome = 'exhausted';
      span.end(outcome, attempt, lastError ?? error);
      throw error;
    } finally {
      clearTimeout(timer);
      call.signal?.removeEventListener('abort', onCallerAbort);
      if (outcome === 'success') span.end('success', attempt);
    }
  }

  #attempt<T>(
    fn: (ctx: AttemptContext) => Promise<T>,
    attempt: number,
    signal: AbortSignal,
    sent: AttemptRecord,
  ): Promise<T> {
    const run = () => raceAbort(() => fn({ signal, attempt, sent }), signal);
    return this.#breaker ? this.#breaker.execute(run) : run();
  }

  /** The signal fired: the caller gets its own abort reason back, a deadline becomes DeadlineExceededError. */
  #aborted(
    call: CallOptions,
    deadlineMs: number,
    attempts: number,
    error: unknown,
    lastError: unknown,
  ): unknown {
    if (call.signal?.aborted) return call.signal.reason;
    const cause = lastError ?? error;
    return new DeadlineExceededError(call.name ?? this.name, deadlineMs, attempts, cause);
  }
}
