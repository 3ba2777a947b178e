import { AsyncResource } from 'node:async_hooks';
import { context, trace } from '@opentelemetry/api';
import type { Instrumentation } from './options.ts';

/** True when the active span is being recorded (sampled), i.e. a child span would be kept. */
export function insideSampledSpan(): boolean {
  return trace.getSpan(context.active())?.isRecording() === true;
}

type Wrapper = (original: (...args: unknown[]) => unknown, name: string) => (...args: unknown[]) => unknown;
interface Wrapping {
  _wrap: (nodule: object, name: string, wrapper: Wrapper) => unknown;
}

/**
 * A callback queued by a pool (pg-pool's waiters) is called from whichever request released a
 * connection: without this it runs, and its queries are traced, in that other request's context.
 * A closure over `runInAsyncScope`, not `AsyncResource.bind`: that one defines properties on a bound
 * function: 3–6 µs of CPU per call measured in isolation, against ~0.2 µs for this closure.
 */
function bindTrailingCallback(args: unknown[]): void {
  const last = args.length - 1;
  const callback = args[last];
  if (typeof callback !== 'function') return;
  const resource = new AsyncResource('tether.pool.waiter');
  args[last] = function (this: unknown, ...callbackArgs: unknown[]): unknown {
    return resource.runInAsyncScope(callback as (...a: unknown[]) => unknown, this, ...callbackArgs);
  };
}

/**
 * Makes an instrumentation's patched `methods` do nothing extra unless the caller is inside a
 * sampled span: then the instrumented version runs (span, attributes, result hooks); otherwise the
 * original method is called directly. `requireParentSpan` alone is not enough: an unsampled request
 * still has a (non-recording) parent span, and the pg instrumentation would build attributes, parse
 * the SQL, start a span the sampler drops and wrap every promise, on 9 requests of 10.
 *
 * Works by composing the wrapper the instrumentation passes to its own `_wrap` (the patching entry
 * point of every `InstrumentationBase`), so it must run before the patched module loads, which is
 * what `startTelemetry()`-before-imports already guarantees. `bindCallbacks`: methods whose trailing
 * callback must run in the caller's async context (see bindTrailingCallback).
 */
export function onlyInsideSampledSpans<T extends Instrumentation>(
  instrumentation: T,
  methods: string[],
  options: { bindCallbacks?: string[] } = {},
): T {
  const target = instrumentation as unknown as Wrapping;
  const wrap = target._wrap.bind(instrumentation);
  const gated = new Set(methods);
  const binding = new Set(options.bindCallbacks);
  target._wrap = (nodule, name, wrapper) => {
    if (!gated.has(name)) return wrap(nodule, name, wrapper);
    return wrap(nodule, name, (original, n) => {
      const instrumented = wrapper(original, n);
      const bind = binding.has(n);
      const gate = function (this: unknown, ...args: unknown[]): unknown {
        if (bind) bindTrailingCallback(args);
        return insideSampledSpan() ? instrumented.apply(this, args) : original.apply(this, args);
      };
      Object.defineProperty(gate, 'length', { value: original.length });
      return gate;
    });
  };
  return instrumentation;
}
