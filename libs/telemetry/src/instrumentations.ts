import type { IncomingMessage } from 'node:http';
import type { NodeSDKConfiguration } from '@opentelemetry/sdk-node';
import { ExpressInstrumentation, ExpressLayerType } from '@opentelemetry/instrumentation-express';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import type { ResolvedOptions } from './options.ts';

/**
 * The deliberate set. Full auto-instrumentation (dozens of modules, fs and dns included) has been
 * measured at 0.19x of untraced throughput; these four are the spans that explain a Tether request.
 * Each is configured against noise and leaks: no probe/scrape spans, no express middleware spans,
 * no root spans for background pool pings, no pool-checkout spans (wait time is a pooling metric),
 * no query parameters or headers (they hold secrets).
 */
// The library's default list only covers cloud-storage signatures; ours adds the tokens Tether
// and OAuth put in URLs (the ws gateway takes ?access_token= because browsers cannot set headers).
const sensitiveQueryParams = [
  'sig',
  'Signature',
  'AWSAccessKeyId',
  'X-Goog-Signature',
  'X-Amz-Signature',
  'X-Amz-Credential',
  'X-Amz-Security-Token',
  'access_token',
  'id_token',
  'refresh_token',
  'token',
  'code',
  'api_key',
  'apikey',
  'key',
  'password',
  'secret',
  'client_secret',
];

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
  return list;
}
