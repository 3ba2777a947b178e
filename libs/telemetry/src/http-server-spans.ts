import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import {
  type Attributes,
  type Context,
  defaultTextMapGetter,
  type Histogram,
  type Meter,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  ValueType,
} from '@opentelemetry/api';
import type { Sampler } from '@opentelemetry/sdk-trace';
import { redactUrl } from '@tether/redact';
import { withRequestSpan } from './context-manager.ts';
import { startSampledFirst, type TraceIdHandOff } from './sampling-first.ts';

/**
 * The server span of every incoming HTTP/1 request, from Node's own `diagnostics_channel` events
 * instead of `@opentelemetry/instrumentation-http`'s patched `Server.emit`. Why it is cheaper:
 *
 * - nothing is patched or bound: no wrapped `emit`, no context-bound request/response emitters;
 * - the sampler runs first (`startSpan` with no attributes) and only a sampled request pays for
 *   attributes, URL parsing and export; an unsampled one costs a header lookup, two random ids and
 *   the duration histogram;
 * - the route template is read once, at the end (`req.baseUrl + req.route.path`, set by Express's
 *   router), so no per-layer Express instrumentation is needed for `http.route`.
 *
 * Kept: W3C `traceparent` (the global propagator) continued; the span (sampled or not) is the active
 * context of the request handler, so log lines carry its trace id and outgoing calls and job rows
 * carry its `traceparent` with the sampled flag; `http.server.request.duration` for every request.
 */
export interface HttpServerSpanOptions {
  tracer: Tracer;
  /** The SDK's sampler and id generator: the sampler decides before the SDK builds anything. */
  sampler: Sampler;
  ids: TraceIdHandOff;
  meter: Meter;
  /** Makes the request's context active for the handler (see RequestContextManager). */
  enter: (context: Context) => void;
  /** Paths (no query) never traced or measured: probes and scrapes. */
  ignoredPaths: ReadonlySet<string>;
}

const KNOWN_METHODS = new Set([
  'GET',
  'HEAD',
  'POST',
  'PUT',
  'DELETE',
  'CONNECT',
  'OPTIONS',
  'TRACE',
  'PATCH',
  'QUERY',
]);
// Semantic-convention advice for http.server.request.duration (seconds).
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

/** Per-request state, on the response object (one shape for every request: no megamorphic access). */
const STATE = Symbol('tether.httpServerSpan');
interface RequestState {
  startedAt: number;
  method: string;
  span: Span | undefined;
}
type TrackedResponse = ServerResponse & { [STATE]?: RequestState };

interface StartMessage {
  request: IncomingMessage;
  response: TrackedResponse;
  socket: Socket;
}

function normalizeMethod(method: string | undefined): string {
  if (method === undefined) return 'GET';
  if (KNOWN_METHODS.has(method)) return method;
  const upper = method.toUpperCase();
  return KNOWN_METHODS.has(upper) ? upper : '_OTHER';
}

/** The route template Express matched (`/v1/jobs/:id`), or undefined (no route matched, or not Express). */
export function routeOf(request: IncomingMessage): string | undefined {
  const { route, baseUrl } = request as IncomingMessage & { route?: { path?: unknown }; baseUrl?: unknown };
  if (typeof route?.path !== 'string') return undefined;
  return typeof baseUrl === 'string' && baseUrl !== '' ? `${baseUrl}${route.path}` : route.path;
}

function hostAndPort(host: string | undefined, secure: boolean): { address?: string; port: number } {
  const fallback = secure ? 443 : 80;
  if (!host) return { port: fallback };
  const colon = host.lastIndexOf(':');
  // "[::1]" has colons but no port; "[::1]:8080" and "host:8080" have one.
  if (colon === -1 || host.endsWith(']')) return { address: host, port: fallback };
  return { address: host.slice(0, colon), port: Number(host.slice(colon + 1)) || fallback };
}

/** Request attributes, built only for a sampled span. Query values that are secrets are masked. */
function requestAttributes(request: IncomingMessage, socket: Socket, method: string): Attributes {
  const secure = (socket as Socket & { encrypted?: boolean }).encrypted === true;
  const url = request.url ?? '/';
  const q = url.indexOf('?');
  const { address, port } = hostAndPort(request.headers.host, secure);
  const forwarded = request.headers['x-forwarded-for'];
  const attributes: Attributes = {
    'http.request.method': method,
    'url.scheme': secure ? 'https' : 'http',
    'url.path': q === -1 ? url : url.slice(0, q),
    'server.port': port,
    'network.protocol.version': request.httpVersion,
    'network.peer.address': socket.remoteAddress,
    'network.peer.port': socket.remotePort,
    'client.address':
      typeof forwarded === 'string' ? forwarded.split(',', 1)[0]!.trim() : socket.remoteAddress,
  };
  if (address !== undefined) attributes['server.address'] = address;
  if (q !== -1) attributes['url.query'] = redactUrl(`http://h${url.slice(q)}`).slice('http://h/'.length);
  if (method === '_OTHER') attributes['http.request.method_original'] = request.method;
  const agent = request.headers['user-agent'];
  if (agent !== undefined) attributes['user_agent.original'] = agent;
  return attributes;
}

/**
 * Subscribes to `http.server.request.start` / `http.server.response.finish`; returns the
 * unsubscribe function. Requests whose client goes away before the response finishes end their
 * (sampled) span with `error.type: aborted` and are not counted in the duration histogram.
 */
export function traceHttpServer(options: HttpServerSpanOptions): () => void {
  const { tracer, sampler, ids, enter, ignoredPaths } = options;
  // The headers the configured propagators read (OTEL_PROPAGATORS; W3C traceparent, tracestate, baggage by default).
  const propagationFields = propagation.fields().map((field) => field.toLowerCase());
  const duration: Histogram = options.meter.createHistogram('http.server.request.duration', {
    description: 'Duration of HTTP server requests.',
    unit: 's',
    valueType: ValueType.DOUBLE,
    advice: { explicitBucketBoundaries: DURATION_BUCKETS },
  });

  function end(state: RequestState, request: IncomingMessage, response: ServerResponse): void {
    const status = response.statusCode;
    const route = routeOf(request);
    const attributes: Attributes = {
      'http.request.method': state.method,
      'url.scheme': (request.socket as Socket & { encrypted?: boolean })?.encrypted ? 'https' : 'http',
      'network.protocol.version': request.httpVersion,
      'http.response.status_code': status,
    };
    if (route !== undefined) attributes['http.route'] = route;
    if (status >= 500) attributes['error.type'] = String(status);
    duration.record((performance.now() - state.startedAt) / 1000, attributes);
    const span = state.span;
    if (span === undefined) return;
    state.span = undefined;
    span.setAttribute('http.response.status_code', status);
    if (route !== undefined) {
      span.setAttribute('http.route', route);
      span.updateName(`${state.method} ${route}`);
    }
    if (status >= 500) {
      span.setAttribute('error.type', String(status));
      span.setStatus({ code: SpanStatusCode.ERROR });
    }
    span.end();
  }

  function onAborted(this: TrackedResponse): void {
    const span = this[STATE]?.span;
    if (span === undefined) return; // finished normally: already ended
    this[STATE]!.span = undefined;
    span.setAttribute('error.type', 'aborted');
    span.setStatus({
      code: SpanStatusCode.ERROR,
      message: 'the connection closed before the response finished',
    });
    span.end();
  }

  const onStart = (message: unknown): void => {
    const { request, response, socket } = message as StartMessage;
    const url = request.url ?? '/';
    const q = url.indexOf('?');
    if (ignoredPaths.has(q === -1 ? url : url.slice(0, q))) {
      // A pipelined request parsed in the same tick must not inherit the previous one's context.
      enter(ROOT_CONTEXT);
      return;
    }
    const method = normalizeMethod(request.method);
    // Most requests carry no trace headers: skip the propagators' parsing and context copies.
    const parent = propagationFields.some((field) => request.headers[field] !== undefined)
      ? propagation.extract(ROOT_CONTEXT, request.headers, defaultTextMapGetter)
      : ROOT_CONTEXT;
    // No attributes yet: the sampler decides before anything is built for the span.
    const span = startSampledFirst(tracer, sampler, ids, method, SpanKind.SERVER, parent);
    const recording = span.isRecording();
    if (recording) {
      span.setAttributes(requestAttributes(request, socket, method));
      response.once('close', onAborted);
    }
    response[STATE] = { startedAt: performance.now(), method, span: recording ? span : undefined };
    // Sampled or not, the span is the handler's context: trace ids in logs, traceparent to peers.
    enter(withRequestSpan(parent, span));
  };

  const onFinish = (message: unknown): void => {
    const { request, response } = message as { request: IncomingMessage; response: TrackedResponse };
    const state = response[STATE];
    if (state !== undefined) end(state, request, response);
  };

  subscribe('http.server.request.start', onStart);
  subscribe('http.server.response.finish', onFinish);
  return () => {
    unsubscribe('http.server.request.start', onStart);
    unsubscribe('http.server.response.finish', onFinish);
  };
}
