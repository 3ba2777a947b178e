import {
  type Attributes,
  type Context,
  context,
  defaultTextMapGetter,
  defaultTextMapSetter,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  trace,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { runInSpan } from './run-in-span.ts';

/**
 * W3C trace context as plain data, for places HTTP headers don't reach: a job row, a Redis stream
 * entry, a WebSocket event. Store it as is (e.g. a `trace_context jsonb` column or a `trace` field).
 */
export interface TraceCarrier {
  traceparent?: string;
  tracestate?: string;
}

// Always W3C, whatever OTEL_PROPAGATORS says: these carriers are a Tether contract read by other
// Tether processes and by browser clients, not an HTTP hop to an arbitrary peer.
const w3c = new W3CTraceContextPropagator();

/** The active (or given) context as a carrier; `{}` when there is no valid span to continue. */
export function injectTraceContext(ctx: Context = context.active()): TraceCarrier {
  const carrier: Record<string, string> = {};
  w3c.inject(ctx, carrier, defaultTextMapSetter);
  const out: TraceCarrier = {};
  if (carrier['traceparent']) out.traceparent = carrier['traceparent'];
  if (carrier['tracestate']) out.tracestate = carrier['tracestate'];
  return out;
}

/**
 * The context a carrier describes, on top of ROOT (not the caller's active context: a job must
 * not accidentally become a child of the poll loop). Tolerates anything: a missing or malformed
 * carrier yields ROOT_CONTEXT, never an error.
 */
export function extractTraceContext(carrier: unknown): Context {
  if (carrier === null || typeof carrier !== 'object') return ROOT_CONTEXT;
  const { traceparent, tracestate } = carrier as Record<string, unknown>;
  if (typeof traceparent !== 'string') return ROOT_CONTEXT;
  const headers: Record<string, string> = { traceparent };
  if (typeof tracestate === 'string') headers['tracestate'] = tracestate;
  return w3c.extract(ROOT_CONTEXT, headers, defaultTextMapGetter);
}

export interface ConsumerSpanOptions {
  /**
   * `child` (default): the span continues the producer's trace, so the request and the job read as
   * one trace. `link`: a new trace linked to the producer — for work that runs much later or in
   * batches, where one huge trace would mislead.
   */
  mode?: 'child' | 'link';
  attributes?: Attributes;
  /** Default: CONSUMER. */
  kind?: SpanKind;
}

const tracer = () => trace.getTracer('@tether/telemetry');

/**
 * Runs `fn` inside a span for work that arrived with a carrier (a job picked up by a worker, an
 * event received). The span is active inside `fn`, so pg/ioredis spans and log lines join it.
 * Ends the span when `fn` settles; a thrown error marks it ERROR and is rethrown unchanged.
 */
export function traceConsumer<T>(
  name: string,
  carrier: unknown,
  fn: (span: Span) => T,
  options: ConsumerSpanOptions = {},
): T {
  const producer = extractTraceContext(carrier);
  const producerSpan = trace.getSpanContext(producer);
  const linkMode = options.mode === 'link';
  const span = tracer().startSpan(
    name,
    {
      kind: options.kind ?? SpanKind.CONSUMER,
      attributes: options.attributes ?? {},
      ...(linkMode ? { root: true, links: producerSpan ? [{ context: producerSpan }] : [] } : {}),
    },
    linkMode ? ROOT_CONTEXT : producer,
  );
  return runInSpan(span, fn);
}
