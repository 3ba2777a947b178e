import { context, type Span, SpanStatusCode, trace } from '@opentelemetry/api';
import { describeError } from '@tether/outage';

function fail(span: Span, error: unknown): void {
  span.setAttributes(describeError(error));
  span.setStatus({
    code: SpanStatusCode.ERROR,
    message: String(describeError(error)['exception.message'] ?? 'error'),
  });
}

/**
 * Runs `fn` with `span` active and ends the span when `fn` settles — synchronously for a plain
 * value, after the promise for a promise — so callers keep their own sync/async shape.
 */
export function runInSpan<T>(span: Span, fn: (span: Span) => T): T {
  let result: T;
  try {
    result = context.with(trace.setSpan(context.active(), span), fn, undefined, span);
  } catch (error) {
    fail(span, error);
    span.end();
    throw error;
  }
  if (result instanceof Promise) {
    return result.then(
      (value: unknown) => {
        span.end();
        return value;
      },
      (error: unknown) => {
        fail(span, error);
        span.end();
        throw error;
      },
    ) as T;
  }
  span.end();
  return result;
}
