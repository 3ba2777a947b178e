import type { Attributes } from '@opentelemetry/api';
import type { NodeSDKConfiguration } from '@opentelemetry/sdk-node';
import type { IMetricReader, ViewOptions } from '@opentelemetry/sdk-metrics';
import type { SpanExporter, SpanProcessor } from '@opentelemetry/sdk-trace';
import { TelemetryConfigError } from './errors.ts';
import { type SamplerName, samplerNames } from './sampler.ts';

/** An OpenTelemetry instrumentation, as the SDK this package starts takes it. */
export type Instrumentation = Exclude<
  NonNullable<NodeSDKConfiguration['instrumentations']>[number],
  unknown[]
>;

/** The part of `@tether/shutdown`'s Lifecycle telemetry needs (structural: libs never import each other's SDKs). */
export interface ShutdownRegistrar {
  addShutdownHook(name: string, fn: () => Promise<void>, options?: { timeoutMs?: number }): void;
}

export interface InstrumentationSwitches {
  /**
   * Incoming HTTP: one lean SERVER span per request from `diagnostics_channel` (sampled requests
   * only, `http.route` from Express), `http.server.request.duration` for every request; outgoing
   * `http.request` CLIENT spans, only under an existing span. Default: true.
   */
  http?: boolean;
  /**
   * Express `request_handler` spans (middleware layers are skipped: cost without insight). Off by
   * default: the server span already carries `http.route`, and the per-layer patching costs every
   * request, sampled or not. Default: false.
   */
  express?: boolean;
  /** node-postgres query spans, only inside a sampled span (unsampled requests call pg unpatched). Default: true. */
  pg?: boolean;
  /** ioredis command spans, only inside a sampled span. Default: true. */
  ioredis?: boolean;
  /** `fetch` (Node's built-in undici): CLIENT spans and `traceparent`, only under an existing span. Default: true. */
  fetch?: boolean;
  /** Node runtime metrics: event-loop delay and utilisation, heap per space, GC durations. Default: true. */
  runtime?: boolean;
}

/** Where metrics are pushed, besides the Prometheus endpoint. */
export type MetricsExportName = 'otlp' | 'console' | 'none';

export interface TelemetryOptions {
  /** `service.name`. Required. `OTEL_SERVICE_NAME` (ops' override) wins over it. */
  serviceName: string;
  /** `service.version`. Default: none. */
  serviceVersion?: string;
  /** `deployment.environment.name` (e.g. `production`). Default: none. */
  environment?: string;
  /** Extra resource attributes. `OTEL_RESOURCE_ATTRIBUTES` wins over them. Default: none. */
  resourceAttributes?: Attributes;
  /**
   * Sampler. Default: `OTEL_TRACES_SAMPLER`, else `parentbased_traceidratio` (follow the caller's
   * decision, sample new traces at `sampleRatio`). Outage spans are always sampled.
   */
  sampler?: SamplerName;
  /** Ratio (0..1) of new traces sampled by the *traceidratio samplers. Default: `OTEL_TRACES_SAMPLER_ARG`, else 1. */
  sampleRatio?: number;
  /**
   * Where spans go. Default: `OTEL_TRACES_EXPORTER` (`otlp`, `console`, `none`), else `otlp` when
   * `OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is set, else `none`
   * (spans still exist for context propagation and log correlation, but are not exported).
   * OTLP goes over HTTP, `OTEL_EXPORTER_OTLP_(TRACES_)PROTOCOL` `http/protobuf` (default) or
   * `http/json`, batched (`OTEL_BSP_*`). A `SpanExporter` instance is used as is, batched.
   */
  traces?: 'otlp' | 'console' | 'none' | SpanExporter;
  /** Replaces the whole export pipeline (e.g. `SimpleSpanProcessor` + `InMemorySpanExporter` in tests). Default: none. */
  spanProcessors?: SpanProcessor[];
  /** Which of the built-in instrumentations to load. Default: all on. */
  instrumentations?: InstrumentationSwitches;
  /**
   * More instrumentations, loaded after the built-in ones (e.g. `new UndiciInstrumentation(...)`
   * configured your way with `instrumentations.fetch: false`, or a contrib package). They get the
   * SDK's tracer and meter providers. Default: none.
   */
  extraInstrumentations?: Instrumentation[];
  /** More metric readers, beside the Prometheus one (e.g. a `PeriodicExportingMetricReader` to your own exporter). Default: none. */
  metricReaders?: IMetricReader[];
  /** Metric views (rename, drop, re-bucket, filter attributes), applied to every reader. Default: none. */
  views?: ViewOptions[];
  /**
   * Push metrics, besides serving them on `metricsHandler`. Default: `OTEL_METRICS_EXPORTER`
   * (`otlp`, `console`, `prometheus` — the scrape endpoint, always on —, `none`, comma-separated), else
   * `otlp` when `OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT` is set, else
   * `none`. OTLP over HTTP (`OTEL_EXPORTER_OTLP_(METRICS_)PROTOCOL`), every
   * `OTEL_METRIC_EXPORT_INTERVAL` ms (60000), each export bounded by `OTEL_METRIC_EXPORT_TIMEOUT` (30000).
   */
  metricsExport?: MetricsExportName;
  /** Incoming HTTP paths never traced (probes and scrapes every few seconds). Default: `/livez`, `/readyz`, `/startupz`, `/metrics`. */
  ignoreIncomingPaths?: string[];
  /** Serve OpenTelemetry metrics in Prometheus format through `metricsHandler`. Default: true. */
  metrics?: boolean;
  /** Registers the final flush as the `telemetry` shutdown hook. Default: none (call `shutdown()` yourself). */
  lifecycle?: ShutdownRegistrar;
  /** Budget for the final flush, in ms. Default: 5000. */
  shutdownTimeoutMs?: number;
}

export interface ResolvedOptions {
  serviceName: string;
  serviceVersion: string | undefined;
  environment: string | undefined;
  resourceAttributes: Attributes;
  sampler: SamplerName;
  sampleRatio: number;
  traces: 'otlp' | 'console' | 'none' | SpanExporter;
  otlpProtocol: 'http/protobuf' | 'http/json';
  spanProcessors: SpanProcessor[] | undefined;
  instrumentations: Required<InstrumentationSwitches>;
  extraInstrumentations: Instrumentation[];
  metricReaders: IMetricReader[];
  views: ViewOptions[];
  metricsExport: {
    to: 'otlp' | 'console' | 'none';
    protocol: 'http/protobuf' | 'http/json';
    intervalMs: number;
    timeoutMs: number;
  };
  ignoreIncomingPaths: string[];
  metrics: boolean;
  lifecycle: ShutdownRegistrar | undefined;
  shutdownTimeoutMs: number;
}

const env = (name: string): string | undefined => {
  const value = process.env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
};

function optionalString(value: unknown, field: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.trim() === '')
    throw new TelemetryConfigError(field, 'must be a non-empty string');
  return value;
}

function resolveSampler(options: TelemetryOptions): { sampler: SamplerName; sampleRatio: number } {
  const field = options.sampler !== undefined ? 'sampler' : 'OTEL_TRACES_SAMPLER';
  const sampler = options.sampler ?? env('OTEL_TRACES_SAMPLER') ?? 'parentbased_traceidratio';
  if (!samplerNames.includes(sampler as SamplerName)) {
    throw new TelemetryConfigError(field, `must be one of ${samplerNames.join(', ')} (got "${sampler}")`);
  }
  const argField = options.sampleRatio !== undefined ? 'sampleRatio' : 'OTEL_TRACES_SAMPLER_ARG';
  const rawArg = env('OTEL_TRACES_SAMPLER_ARG');
  const ratio =
    options.sampleRatio ?? (rawArg !== undefined && sampler.endsWith('traceidratio') ? Number(rawArg) : 1);
  if (typeof ratio !== 'number' || !Number.isFinite(ratio) || ratio < 0 || ratio > 1) {
    throw new TelemetryConfigError(
      argField,
      `must be a number between 0 and 1 (got "${options.sampleRatio ?? rawArg}")`,
    );
  }
  return { sampler: sampler as SamplerName, sampleRatio: ratio };
}

function resolveTraces(options: TelemetryOptions): ResolvedOptions['traces'] {
  if (options.traces !== undefined) {
    if (
      typeof options.traces === 'object' &&
      options.traces !== null &&
      typeof options.traces.export === 'function'
    )
      return options.traces;
    if (options.traces === 'otlp' || options.traces === 'console' || options.traces === 'none')
      return options.traces;
    throw new TelemetryConfigError('traces', 'must be "otlp", "console", "none" or a SpanExporter');
  }
  const fromEnv = env('OTEL_TRACES_EXPORTER');
  if (fromEnv !== undefined) {
    const names = fromEnv.split(',').map((s) => s.trim());
    if (names.length !== 1 || !['otlp', 'console', 'none'].includes(names[0] as string)) {
      throw new TelemetryConfigError(
        'OTEL_TRACES_EXPORTER',
        `must be one of otlp, console, none (got "${fromEnv}")`,
      );
    }
    return names[0] as 'otlp' | 'console' | 'none';
  }
  return env('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT') || env('OTEL_EXPORTER_OTLP_ENDPOINT') ? 'otlp' : 'none';
}

function resolveProtocol(signal: 'TRACES' | 'METRICS'): ResolvedOptions['otlpProtocol'] {
  const field =
    env(`OTEL_EXPORTER_OTLP_${signal}_PROTOCOL`) !== undefined
      ? `OTEL_EXPORTER_OTLP_${signal}_PROTOCOL`
      : 'OTEL_EXPORTER_OTLP_PROTOCOL';
  const protocol = env(field) ?? 'http/protobuf';
  if (protocol !== 'http/protobuf' && protocol !== 'http/json') {
    throw new TelemetryConfigError(
      field,
      `must be http/protobuf or http/json (got "${protocol}"; grpc is not bundled)`,
    );
  }
  return protocol;
}

function positiveMsFromEnv(name: string, fallback: number): number {
  const raw = env(name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0)
    throw new TelemetryConfigError(name, `must be a positive integer number of ms (got "${raw}")`);
  return value;
}

function resolveMetricsExport(options: TelemetryOptions): ResolvedOptions['metricsExport'] {
  let to: 'otlp' | 'console' | 'none';
  if (options.metricsExport !== undefined) {
    if (!['otlp', 'console', 'none'].includes(options.metricsExport as string))
      throw new TelemetryConfigError('metricsExport', 'must be "otlp", "console" or "none"');
    to = options.metricsExport;
  } else if (env('OTEL_METRICS_EXPORTER') !== undefined) {
    const raw = env('OTEL_METRICS_EXPORTER') as string;
    const names = new Set(raw.split(',').map((s) => s.trim()));
    const unknown = [...names].filter((n) => !['otlp', 'console', 'prometheus', 'none'].includes(n));
    // One push target: two periodic readers would double every export for no gain.
    const push = [...names].filter((n) => n === 'otlp' || n === 'console');
    if (unknown.length > 0 || push.length > 1) {
      throw new TelemetryConfigError(
        'OTEL_METRICS_EXPORTER',
        `must be otlp, console, prometheus or none, with at most one of otlp and console (got "${raw}")`,
      );
    }
    to = names.has('none') ? 'none' : ((push[0] as 'otlp' | 'console' | undefined) ?? 'none');
  } else {
    to = env('OTEL_EXPORTER_OTLP_METRICS_ENDPOINT') || env('OTEL_EXPORTER_OTLP_ENDPOINT') ? 'otlp' : 'none';
  }
  const intervalMs = positiveMsFromEnv('OTEL_METRIC_EXPORT_INTERVAL', 60_000);
  return {
    to,
    protocol: to === 'otlp' ? resolveProtocol('METRICS') : 'http/protobuf',
    intervalMs,
    // The reader refuses a timeout longer than the interval; clamp as the SDK's env path does.
    timeoutMs: Math.min(positiveMsFromEnv('OTEL_METRIC_EXPORT_TIMEOUT', 30_000), intervalMs),
  };
}

function arrayOf<T>(value: unknown, field: string, what: string, check: (item: T) => boolean): T[] {
  if (value === undefined) return [];
  if (
    !Array.isArray(value) ||
    value.some((item) => item === null || typeof item !== 'object' || !check(item as T))
  )
    throw new TelemetryConfigError(field, `must be an array of ${what}`);
  return value as T[];
}

function resolveInstrumentations(value: unknown): Required<InstrumentationSwitches> {
  const all = { http: true, express: false, pg: true, ioredis: true, fetch: true, runtime: true };
  if (value === undefined) return all;
  if (value === null || typeof value !== 'object')
    throw new TelemetryConfigError('instrumentations', 'must be an object like { pg: false }');
  for (const [name, on] of Object.entries(value)) {
    if (!(name in all))
      throw new TelemetryConfigError(
        `instrumentations.${name}`,
        `is unknown (known: ${Object.keys(all).join(', ')})`,
      );
    if (typeof on !== 'boolean')
      throw new TelemetryConfigError(`instrumentations.${name}`, 'must be a boolean');
  }
  return { ...all, ...(value as InstrumentationSwitches) };
}

export function resolveOptions(options: TelemetryOptions): ResolvedOptions {
  if (options === null || typeof options !== 'object')
    throw new TelemetryConfigError('options', 'must be an object');
  const serviceName = optionalString(options.serviceName, 'serviceName');
  if (serviceName === undefined) throw new TelemetryConfigError('serviceName', 'is required (e.g. "api")');
  if (
    options.resourceAttributes !== undefined &&
    (typeof options.resourceAttributes !== 'object' || options.resourceAttributes === null)
  ) {
    throw new TelemetryConfigError('resourceAttributes', 'must be an object');
  }
  const ignoreIncomingPaths = options.ignoreIncomingPaths ?? ['/livez', '/readyz', '/startupz', '/metrics'];
  if (
    !Array.isArray(ignoreIncomingPaths) ||
    ignoreIncomingPaths.some((p) => typeof p !== 'string' || !p.startsWith('/'))
  ) {
    throw new TelemetryConfigError('ignoreIncomingPaths', 'must be an array of paths starting with "/"');
  }
  if (
    options.spanProcessors !== undefined &&
    (!Array.isArray(options.spanProcessors) ||
      options.spanProcessors.some((p) => typeof p?.onEnd !== 'function'))
  ) {
    throw new TelemetryConfigError('spanProcessors', 'must be an array of SpanProcessor');
  }
  if (options.metrics !== undefined && typeof options.metrics !== 'boolean')
    throw new TelemetryConfigError('metrics', 'must be a boolean');
  if (options.lifecycle !== undefined && typeof options.lifecycle?.addShutdownHook !== 'function') {
    throw new TelemetryConfigError(
      'lifecycle',
      'must have addShutdownHook(name, fn, { timeoutMs }) (a @tether/shutdown Lifecycle)',
    );
  }
  const shutdownTimeoutMs = options.shutdownTimeoutMs ?? 5000;
  if (!Number.isInteger(shutdownTimeoutMs) || shutdownTimeoutMs <= 0) {
    throw new TelemetryConfigError(
      'shutdownTimeoutMs',
      `must be a positive integer number of ms (got ${String(options.shutdownTimeoutMs)})`,
    );
  }
  const traces = resolveTraces(options);
  return {
    serviceName,
    serviceVersion: optionalString(options.serviceVersion, 'serviceVersion'),
    environment: optionalString(options.environment, 'environment'),
    resourceAttributes: options.resourceAttributes ?? {},
    ...resolveSampler(options),
    traces,
    otlpProtocol: traces === 'otlp' ? resolveProtocol('TRACES') : 'http/protobuf',
    spanProcessors: options.spanProcessors,
    instrumentations: resolveInstrumentations(options.instrumentations),
    extraInstrumentations: arrayOf<Instrumentation>(
      options.extraInstrumentations,
      'extraInstrumentations',
      'OpenTelemetry Instrumentation (with enable() and setTracerProvider())',
      (i) => typeof i.enable === 'function' && typeof i.setTracerProvider === 'function',
    ),
    metricReaders: arrayOf<IMetricReader>(
      options.metricReaders,
      'metricReaders',
      'MetricReader (with collect() and setMetricProducer())',
      (r) => typeof r.collect === 'function' && typeof r.setMetricProducer === 'function',
    ),
    views: arrayOf<ViewOptions>(options.views, 'views', 'view options objects', () => true),
    metricsExport: resolveMetricsExport(options),
    ignoreIncomingPaths,
    metrics: options.metrics ?? true,
    lifecycle: options.lifecycle,
    shutdownTimeoutMs,
  };
}
