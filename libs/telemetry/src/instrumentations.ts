import type { IncomingMessage } from 'node:http';
import type { NodeSDKConfiguration } from '@opentelemetry/sdk-node';
import { ExpressInstrumentation, ExpressLayerType } from '@opentelemetry/instrumentation-express';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { RuntimeNodeInstrumentation } from '@opentelemetry/instrumentation-runtime-node';
import { UndiciInstrumentation, type UndiciRequest } from '@opentelemetry/instrumentation-undici';
import { redactUrl } from '@tether/redact';
import { SECRET_QUERY_PARAMS } from '@tether/redact';
import type { ResolvedOptions } from './options.ts';

/**
 * The deliberate set. Full auto-instrumentation (dozens of modules, fs and dns included) has been
 * measured at 0.19x of untraced throughput; these four are the spans that explain a Tether request.
 * Each is configured against noise and leaks: no probe/scrape spans, no express middleware spans,
 * no root spans for background pool pings, no pool-checkout spans (wait time is a pooling metric),
 * no query parameters or headers (they hold secrets).
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
  const ignored = new Set(options.ignoreIncomingPaths);
  const list: NodeSDKConfiguration['instrumentations'] = [];
  if (on.http) {
    list.push(
      new HttpInstrumentation({
        ignoreIncomingRequestHook: (request: IncomingMessage) =>
          ignored.has((request.url ?? '/').split('?', 1)[0] ?? '/'),
        // Outgoing calls outside any request (health checks, JWKS refresh) would each start a trace.
        requireParentforOutgoingSpans: true,
        redactedQueryParamsServer: sensitiveQueryParams,
        redactedQueryParams: sensitiveQueryParams,
      }),
    );
  }
  if (on.express) {
    list.push(new ExpressInstrumentation({ ignoreLayersType: [ExpressLayerType.MIDDLEWARE] }));
  }
  if (on.pg) {
    list.push(
      new PgInstrumentation({
        requireParentSpan: true,
        enhancedDatabaseReporting: false,
        ignoreConnectSpans: true,
      }),
    );
  }
  if (on.ioredis) {
    list.push(new IORedisInstrumentation({ requireParentSpan: true }));
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
