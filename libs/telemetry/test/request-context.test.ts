import { createContextKey, propagation, ROOT_CONTEXT, trace, TraceFlags } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { withRequestSpan } from '../src/context-manager.ts';

// The request's context without BaseContext (src/context-manager.ts): what readers of a context do
// with it must give what they get from trace.setSpan(ROOT_CONTEXT, span).
const span = trace.wrapSpanContext({
  traceId: '0af7651916cd43dd8448eb211c80319c',
  spanId: 'b7ad6b7169203331',
  traceFlags: TraceFlags.NONE,
});
const key = createContextKey('tether test key');

describe('withRequestSpan', () => {
  it('answers reads of a root parent as trace.setSpan does', () => {
    const context = withRequestSpan(ROOT_CONTEXT, span);
    expect(trace.getSpan(context)).toBe(span);
    expect(trace.getSpanContext(context)).toEqual(span.spanContext());
    expect(context.getValue(key)).toBeUndefined();
  });

  it('keeps the span when a value is added, and loses it only when the span is deleted', () => {
    const context = withRequestSpan(ROOT_CONTEXT, span);
    const withValue = context.setValue(key, 42);
    expect(withValue.getValue(key)).toBe(42);
    expect(trace.getSpan(withValue)).toBe(span);
    expect(trace.getSpan(trace.deleteSpan(context))).toBeUndefined();
    expect(context.deleteValue(key)).toBe(context);
    const other = trace.wrapSpanContext({ ...span.spanContext(), spanId: '00f067aa0ba902b7' });
    expect(trace.getSpan(trace.setSpan(context, other))).toBe(other);
    expect(trace.getSpan(context)).toBe(span);
  });

  it("keeps what a non-root parent carries (the caller's baggage)", () => {
    const baggage = propagation.createBaggage({ tenant: { value: 'acme' } });
    const parent = propagation.setBaggage(ROOT_CONTEXT, baggage);
    const context = withRequestSpan(parent, span);
    expect(trace.getSpan(context)).toBe(span);
    expect(propagation.getBaggage(context)?.getEntry('tenant')?.value).toBe('acme');
  });
});
