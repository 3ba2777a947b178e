import type { AsyncLocalStorage } from 'node:async_hooks';
import { type Context, createContextKey, ROOT_CONTEXT, type Span, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';

/**
 * The SDK's AsyncLocalStorage context manager, plus `enter()`: makes a context active for the rest
 * of the current synchronous execution and everything it schedules. The lean HTTP server span needs
 * it because `http.server.request.start` is *published* right before the server emits `request`,
 * with no callback to wrap in `context.with()`.
 */
export class RequestContextManager extends AsyncLocalStorageContextManager {
  enter(context: Context): void {
    // `_asyncLocalStorage` is private in the typings only; the test suite covers that it still exists.
    (this as unknown as { _asyncLocalStorage: AsyncLocalStorage<Context> })._asyncLocalStorage.enterWith(
      context,
    );
  }
}

// The key `trace.setSpan` / `trace.getSpan` use (`createContextKey` is `Symbol.for`).
const SPAN_KEY = createContextKey('OpenTelemetry Context Key SPAN');

/**
 * A new trace's request context: its span and nothing else. `trace.setSpan(ROOT_CONTEXT, span)`
 * builds a `BaseContext`, a Map copy and three closures, on every request; this answers the same
 * reads, and the first `setValue` (a child span's context, baggage) builds the ordinary context.
 */
class RequestSpanContext implements Context {
  private readonly span: Span;

  constructor(span: Span) {
    this.span = span;
  }

  getValue(key: symbol): unknown {
    return key === SPAN_KEY ? this.span : undefined;
  }

  setValue(key: symbol, value: unknown): Context {
    return trace.setSpan(ROOT_CONTEXT, this.span).setValue(key, value);
  }

  deleteValue(key: symbol): Context {
    return key === SPAN_KEY ? ROOT_CONTEXT : this;
  }
}

/** `trace.setSpan(parent, span)`, without building a `BaseContext` when the parent is the root. */
export function withRequestSpan(parent: Context, span: Span): Context {
  return parent === ROOT_CONTEXT ? new RequestSpanContext(span) : trace.setSpan(parent, span);
}
