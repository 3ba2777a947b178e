import type { NodeSDKConfiguration } from '@opentelemetry/sdk-node';
import { ExpressInstrumentation, ExpressLayerType } from '@opentelemetry/instrumentation-express';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { RuntimeNodeInstrumentation } from '@opentelemetry/instrumentation-runtime-node';
import { UndiciInstrumentation, type UndiciRequest } from '@opentelemetry/instrumentation-undici';
import { redactUrl, SECRET_QUERY_PARAMS } from '@tether/redact';
import type { ResolvedOptions } from './options.ts';
import { onlyInsideSampledSpans } from './sampled-parent.ts';

/**
 * The deliberate set. Full auto-instrumentation (dozens of modules, fs and dns included) has been
 * measured at 0.19x of untraced throughput; these are the spans that explain a Tether request.
 * Incoming HTTP is not here: the lean server span (http-server-spans.ts) replaces the http
 * instrumentation's server side. Each is configured against noise, cost and leaks: no probe/scrape
 * spans, no Express layer spans unless asked for, pg and ioredis spans only inside a sampled span,
 * no pool-checkout spans (wait time is a pooling metric), no query parameters or headers (secrets).
 */
// The library matches exact, case-sensitive names; @tether/redact keeps that list beside its matcher
// (cloud-storage signatures plus the tokens Tether and OAuth put in URLs: the ws gateway takes
// ?access_token= because browsers cannot set headers).
const sensitiveQueryParams = [...SECRET_QUERY_PARAMS];

/** url.full and url.query of an outgoing fetch, with credentials and secret query parameters masked. */
function redactedFetchUrl(request: UndiciRequest): Record<string, string> {
  // Most calls have neither a query nor userinfo: leave those attributes as the library wrote them.
  if (!request.path.includes('?') && !request.origin.includes('@')) return {};
  const full = redactUrl(new URL(request.path, request.origin).toString());
  const query = full.indexOf('?');
  return { 'url.full': full, 'url.query': query === -1 ? '' : full.slice(query) };
}

export function createInstrumentations(options: ResolvedOptions): NodeSDKConfiguration['instrumentations'] {
  const on = options.instrumentations;
  const list: NodeSDKConfiguration['instrumentations'] = [];
  if (on.http) {
    list.push(
      new HttpInstrumentation({
        // Server spans come from diagnostics_channel (traceHttpServer): this one traces outgoing calls.
        disableIncomingRequestInstrumentation: true,
        // Outgoing calls outside any request (health checks, JWKS refresh) would each start a trace.
        requireParentforOutgoingSpans: true,
        redactedQueryParams: sensitiveQueryParams,
      }),
    );
  }
  if (on.express) {
    list.push(new ExpressInstrumentation({ ignoreLayersType: [ExpressLayerType.MIDDLEWARE] }));
  }
  if (on.pg) {
    const pg = new PgInstrumentation({
      requireParentSpan: true,
      enhancedDatabaseReporting: false,
      ignoreConnectSpans: true,
    });
    // The instrumentation's own pool metrics: on the first sampled Pool#connect it subscribes to the
    // pool's acquire/release/connect/remove events and records three UpDownCounter changes on each,
    // i.e. six records on every request from then on, sampled or not. They are the names
    // @tether/pooling already observes per pool at collection time (db.client.connection.count,
    // .pending_requests, .max), under a second pool name (host:port/db), so a sum counted every
    // connection twice. Only those are left out: db.client.operation.duration stays.
    (
      pg as unknown as { _setPoolConnectEventListeners: (pool: unknown) => void }
    )._setPoolConnectEventListeners = () => {};
    // Client#query and Pool#connect: unsampled requests call pg directly, as if it were not patched.
    list.push(
      onlyInsideSampledSpans(pg, ['query', 'connect'], {
        // pg-pool hands a freed connection to a waiting callback from the releasing request.
        bindCallbacks: ['connect'],
      }),
    );
  }
  if (on.ioredis) {
    list.push(
      onlyInsideSampledSpans(new IORedisInstrumentation({ requireParentSpan: true }), [
        'sendCommand',
        'connect',
      ]),
    );
  }
  if (on.fetch) {
    list.push(
      new UndiciInstrumentation({
        // As for http: a fetch outside any request (JWKS refresh, health checks) starts no trace.
        requireParentforSpans: true,
        // The instrumentation records url.full and url.query verbatim; these attributes replace them.
        startSpanHook: redactedFetchUrl,
      }),
    );
  }
  if (on.runtime) {
    // Event-loop delay sampled every 10 ms (the library default): cheap, and fine enough to see a
    // blocked loop between probe periods.
    list.push(new RuntimeNodeInstrumentation({ monitoringPrecision: 10 }));
  }
  list.push(...options.extraInstrumentations);
  return list;
}
