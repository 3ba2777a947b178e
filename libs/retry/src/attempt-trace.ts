import {
  context,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Span,
  type Tracer,
} from '@opentelemetry/api';
import type { Classification } from './classification.ts';

export type Outcome =
  'success' | 'not_retryable' | 'exhausted' | 'deadline' | 'budget_exhausted' | 'breaker_open' | 'cancelled';

/**
 * The span of one `execute()` call. It is created lazily, at the first failed attempt, with the call's
 * start time: a call that succeeds first time (nearly all of them) costs no span at all, while a
 * retried one shows up as `retry <operation>` with one `retry.attempt` event per attempt.
 */
export class AttemptTrace {
  #tracer: Tracer;
  #parent: Context;
  #name: string;
  #attributes: Attributes;
  #startTime: number;
  #span: Span | undefined;

  constructor(tracer: Tracer, name: string, attributes: Attributes) {
    this.#tracer = tracer;
    this.#parent = context.active();
    this.#name = name;
    this.#attributes = attributes;
    // The SDK's own clock (time origin + monotonic offset), so the start lines up with the events' times.
    this.#startTime = performance.timeOrigin + performance.now();
  }

  /** Runs an attempt in the span's context (once there is one) so its own spans nest under the retry span. */
  run<T>(fn: () => T): T {
    return this.#span
      ? context.with(trace.setSpan(this.#parent, this.#span), fn)
      : context.with(this.#parent, fn);
  }

  failed(
    attempt: number,
    c: Classification,
    error: unknown,
    decision: 'retry' | 'give_up',
    delayMs: number,
  ): void {
    this.#span ??= this.#tracer.startSpan(
      `retry ${this.#name}`,
      { attributes: this.#attributes, startTime: this.#startTime },
      this.#parent,
    );
    const attributes: Attributes = {
      'tether.retry.attempt': attempt,
      'tether.retry.outcome': 'failure',
      'tether.retry.decision': decision,
      'tether.retry.delay_ms': Math.round(delayMs),
      'tether.retry.classification.kind': c.kind,
      'tether.retry.classification.safety': c.safety,
      'tether.retry.classification.reason': c.reason,
      'error.type': c.code ?? errorName(error),
    };
    if (c.retryAfterMs !== undefined) attributes['tether.retry.retry_after_ms'] = c.retryAfterMs;
    this.#span.addEvent('retry.attempt', attributes);
  }

  succeeded(attempt: number): void {
    this.#span?.addEvent('retry.attempt', {
      'tether.retry.attempt': attempt,
      'tether.retry.outcome': 'success',
    });
  }

  end(outcome: Outcome, attempts: number, error?: unknown): void {
    const span = this.#span;
    if (!span) return;
    span.setAttributes({ 'tether.retry.attempts': attempts, 'tether.retry.outcome': outcome });
    if (outcome === 'success') span.setStatus({ code: SpanStatusCode.OK });
    // The message is the outcome and error code only: driver messages can carry query text.
    else span.setStatus({ code: SpanStatusCode.ERROR, message: `${outcome}: ${errorName(error)}` });
    span.end();
  }
}

function errorName(error: unknown): string {
  if (typeof error === 'object' && error !== null) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    if (error instanceof Error) return error.name;
  }
  return typeof error;
}
