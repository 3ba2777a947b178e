import type { IncomingMessage } from 'node:http';
import {
  type Attributes,
  propagation,
  ROOT_CONTEXT,
  type Span,
  type SpanContext,
  SpanKind,
  trace,
} from '@opentelemetry/api';
import { extractTraceContext, type TraceCarrier } from './propagation.ts';
import { runInSpan } from './run-in-span.ts';

// There is no official `ws` instrumentation (and http instrumentation ignores `upgrade`), so the
// gateway calls these helpers at the two places that matter: the handshake and each message.

const tracer = () => trace.getTracer('@tether/telemetry');

function pathOf(url: string | undefined): string {
  // Never the query string: browsers send the JWT as ?access_token=…
  const path = (url ?? '/').split('?', 1)[0] ?? '/';
  return path === '' ? '/' : path;
}

/**
 * A SERVER span `WS <path>` around the upgrade handshake (authentication, subscription setup).
 * Continues an incoming `traceparent` header. `fn` runs with the span active; set
 * `http.response.status_code` on the span for refusals (401…). Keep `span.spanContext()` for the
 * connection: message spans link to it.
 */
export function traceWebSocketHandshake<T>(
  request: IncomingMessage,
  fn: (span: Span) => T,
  attributes: Attributes = {},
): T {
  const parent = propagation.extract(ROOT_CONTEXT, request.headers);
  const path = pathOf(request.url);
  const span = tracer().startSpan(
    `WS ${path}`,
    {
      kind: SpanKind.SERVER,
      attributes: {
        'http.request.method': request.method ?? 'GET',
        'url.path': path,
        'network.protocol.name': 'websocket',
        ...(request.socket?.remoteAddress ? { 'client.address': request.socket.remoteAddress } : {}),
        ...(typeof request.headers['user-agent'] === 'string'
          ? { 'user_agent.original': request.headers['user-agent'] }
          : {}),
        ...attributes,
      },
    },
    parent,
  );
  return runInSpan(span, fn);
}

export interface WebSocketMessageInfo {
  /** What the message is: the client op (`subscribe`) or the event type (`progress`). Names the span. */
  type: string;
  /** The connection's handshake span context: every message span links to it. */
  connection?: SpanContext;
  /**
   * Trace context the message itself carries (a job event's `trace`, a client's `traceparent`):
   * the message span continues it. Without one, a received message starts a new trace and a sent
   * one is a child of whatever is active.
   */
  carrier?: TraceCarrier;
  attributes?: Attributes;
}

/**
 * A span per WebSocket message: CONSUMER `WS receive <type>` for client -> server, PRODUCER
 * `WS send <type>` for server -> client. Inside `fn`, `injectTraceContext()` gives the carrier to
 * put into the outgoing event so a client can continue the trace.
 *
 * Received messages do not become children of the handshake: a connection lives for hours and one
 * trace per connection would be unreadable. They link to it instead.
 */
export function traceWebSocketMessage<T>(
  direction: 'receive' | 'send',
  info: WebSocketMessageInfo,
  fn: (span: Span) => T,
): T {
  const carried = info.carrier ? trace.getSpanContext(extractTraceContext(info.carrier)) : undefined;
  const parent = carried
    ? extractTraceContext(info.carrier)
    : direction === 'receive'
      ? ROOT_CONTEXT
      : undefined;
  const span = tracer().startSpan(
    `WS ${direction} ${info.type}`,
    {
      kind: direction === 'receive' ? SpanKind.CONSUMER : SpanKind.PRODUCER,
      attributes: {
        'network.protocol.name': 'websocket',
        'tether.ws.message.type': info.type,
        ...info.attributes,
      },
      links: info.connection
        ? [{ context: info.connection, attributes: { 'tether.ws.link': 'connection' } }]
        : [],
    },
    parent,
  );
  return runInSpan(span, fn);
}
