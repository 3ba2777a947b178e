import type { IncomingMessage, ServerResponse } from 'node:http';
import { metrics, type Tracer, trace } from '@opentelemetry/api';
import { OTLPTraceExporter as OTLPJsonTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OTLPProtoTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import {
  defaultResource,
  envDetector,
  hostDetector,
  osDetector,
  resourceFromAttributes,
} from '@opentelemetry/resources';
import { NodeSDK } from '@opentelemetry/sdk-node';
import {
  ConsoleSpanExporter,
  NoopSpanProcessor,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace';
import { RequestContextManager } from './context-manager.ts';
import { TelemetryAlreadyStartedError } from './errors.ts';
import { registerEsmHooks } from './esm-hooks.ts';
import { traceHttpServer } from './http-server-spans.ts';
import { createInstrumentations } from './instrumentations.ts';
import { createMetricReaders } from './metric-readers.ts';
import { type ResolvedOptions, resolveOptions, type TelemetryOptions } from './options.ts';
import { resourceAttributes } from './resource.ts';
import { createSampler } from './sampler.ts';
import { TraceIdHandOff } from './sampling-first.ts';

export interface Telemetry {
  readonly serviceName: string;
  /** False when `OTEL_SDK_DISABLED=true`: every API call is then a no-op. */
  readonly enabled: boolean;
  /** A tracer for the app's own spans (`@tether/telemetry`). */
  readonly tracer: Tracer;
  /**
   * Prometheus text exposition of every OpenTelemetry metric in the process; pass it to
   * `lifecycle.setMetricsHandler(telemetry.metricsHandler)` to serve `GET /metrics` on the admin port.
   */
  metricsHandler(request: IncomingMessage, response: ServerResponse): void;
  /** Exports everything pending now (spans in the batch queue). */
  forceFlush(): Promise<void>;
  /** Final flush and stop, bounded by `shutdownTimeoutMs`. Idempotent. */
  shutdown(): Promise<void>;
}

let running: Telemetry | undefined;

function traceExporter(options: ResolvedOptions): SpanExporter | undefined {
  if (typeof options.traces === 'object') return options.traces;
  if (options.traces === 'console') return new ConsoleSpanExporter();
  if (options.traces === 'otlp') {
    // Both read OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT / _HEADERS / _TIMEOUT themselves.
    return options.otlpProtocol === 'http/json' ? new OTLPJsonTraceExporter() : new OTLPProtoTraceExporter();
  }
  return undefined;
}

function withTimeout(work: Promise<void>, timeoutMs: number, what: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`telemetry ${what} did not finish within ${timeoutMs} ms`)),
      timeoutMs,
    );
    timer.unref();
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Starts OpenTelemetry for this process. Call it before anything imports `pg`, `express`,
 * `ioredis` or `http` (see the README: instrumentations patch modules as they load).
 */
export function startTelemetry(options: TelemetryOptions): Telemetry {
  const resolved = resolveOptions(options);
  if (running) throw new TelemetryAlreadyStartedError();
  const enabled = !/^true$/i.test(process.env['OTEL_SDK_DISABLED']?.trim() ?? '');

  const exporter = traceExporter(resolved);
  const prometheus =
    resolved.metrics && enabled ? new PrometheusExporter({ preventServerStart: true }) : undefined;
  // Without an exporter spans still matter: they carry trace ids into logs and traceparent to peers.
  const spanProcessors: SpanProcessor[] | undefined =
    resolved.spanProcessors ?? (exporter ? undefined : [new NoopSpanProcessor()]);
  const contextManager = new RequestContextManager();
  const metricReaders = createMetricReaders(resolved, prometheus);
  const sampler = createSampler(resolved.sampler, resolved.sampleRatio);
  const ids = new TraceIdHandOff();
  const sdk = new NodeSDK({
    contextManager,
    resource: defaultResource().merge(
      resourceFromAttributes(
        resourceAttributes({
          serviceName: resolved.serviceName,
          serviceVersion: resolved.serviceVersion,
          environment: resolved.environment,
          attributes: resolved.resourceAttributes,
          env: process.env,
        }),
      ),
    ),
    // envDetector last: OTEL_RESOURCE_ATTRIBUTES / OTEL_SERVICE_NAME override what the code says.
    // No process detector: it records the command line, which can hold secrets.
    ...(process.env['OTEL_NODE_RESOURCE_DETECTORS']
      ? {}
      : { resourceDetectors: [hostDetector, osDetector, envDetector] }),
    sampler,
    idGenerator: ids,
    ...(spanProcessors ? { spanProcessors } : { traceExporter: exporter as SpanExporter }),
    metricReaders: metricReaders.readers,
    views: resolved.views,
    // We log with pino; an empty list stops the SDK from building a default OTLP log exporter.
    logRecordProcessors: [],
    // Instrumentations enable (patch modules) as they are constructed, whether or not the SDK starts:
    // with OTEL_SDK_DISABLED none is made, so "disabled" means no patching at all.
    instrumentations: enabled ? createInstrumentations(resolved) : [],
  });
  // Before sdk.start(): the instrumentations' import hooks must find the loader hook in place.
  if (enabled) registerEsmHooks();
  sdk.start();
  // After start(): the Prometheus reader it feeds from is bound to the MeterProvider now.
  metricReaders.sharedPush?.bind();
  // After start(): the tracer and meter must come from the SDK's providers, not the no-op globals.
  const stopHttpServerSpans =
    enabled && resolved.instrumentations.http
      ? traceHttpServer({
          tracer: trace.getTracer('@tether/telemetry/http-server'),
          sampler,
          ids,
          meter: metrics.getMeter('@tether/telemetry/http-server'),
          enter: (context) => contextManager.enter(context),
          ignoredPaths: new Set(resolved.ignoreIncomingPaths),
        })
      : undefined;

  // The shared push reader's final export collects from the Prometheus reader: before the SDK stops it.
  const stopSdk = async (): Promise<void> => {
    try {
      await metricReaders.sharedPush?.reader.shutdown();
    } finally {
      await sdk.shutdown();
    }
  };
  let stopped: Promise<void> | undefined;
  const telemetry: Telemetry = {
    serviceName: resolved.serviceName,
    enabled,
    tracer: trace.getTracer('@tether/telemetry'),
    metricsHandler(request, response) {
      if (!prometheus) {
        response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
        response.end(`# metrics disabled (${enabled ? 'metrics: false' : 'OTEL_SDK_DISABLED=true'})\n`);
        return;
      }
      prometheus.getMetricsRequestHandler(request, response);
    },
    async forceFlush() {
      const provider = trace.getTracerProvider() as { forceFlush?: () => Promise<void> };
      const delegate =
        (provider as { getDelegate?: () => { forceFlush?: () => Promise<void> } }).getDelegate?.() ??
        provider;
      await delegate.forceFlush?.();
    },
    shutdown() {
      stopHttpServerSpans?.();
      stopped ??= withTimeout(stopSdk(), resolved.shutdownTimeoutMs, 'shutdown').finally(() => {
        if (running === telemetry) running = undefined;
      });
      return stopped;
    },
  };
  resolved.lifecycle?.addShutdownHook('telemetry', () => telemetry.shutdown(), {
    timeoutMs: resolved.shutdownTimeoutMs,
  });
  running = telemetry;
  return telemetry;
}
