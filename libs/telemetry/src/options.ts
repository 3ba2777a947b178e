import type { Attributes } from '@opentelemetry/api';
import type { NodeSDKConfiguration } from '@opentelemetry/sdk-node';
import type { IMetricReader, ViewOptions } from '@opentelemetry/sdk-metrics';
import type { SpanExporter, SpanProcessor } from '@opentelemetry/sdk-trace';
import {
  booleanOption,
  describeChoices,
  integerFromEnv,
  methodsOption,
  numberOption,
  objectOption,
  oneOfOption,
  rejectUnknownKeys,
  requiredStringOption,
  satisfiesNumberRule,
  stringOption,
  TetherInvalidOptionError,
} from '@tether/errors';
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

const TRACE_EXPORTERS = ['otlp', 'console', 'none'] as const;

const env = (name: string): string | undefined => {
  const value = process.env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
};

function resolveSampler(options: TelemetryOptions): { sampler: SamplerName; sampleRatio: number } {
  const field = options.sampler !== undefined ? 'sampler' : 'OTEL_TRACES_SAMPLER';
  const sampler = oneOfOption(
    field,
    options.sampler ?? env('OTEL_TRACES_SAMPLER'),
    'parentbased_traceidratio',
    samplerNames,
  );
  const argField = options.sampleRatio !== undefined ? 'sampleRatio' : 'OTEL_TRACES_SAMPLER_ARG';
  const rawArg = env('OTEL_TRACES_SAMPLER_ARG');
  const ratio =
    options.sampleRatio ?? (rawArg !== undefined && sampler.endsWith('traceidratio') ? Number(rawArg) : 1);
  if (!satisfiesNumberRule(ratio, { min: 0, max: 1 })) {
    throw new TetherInvalidOptionError(argField, 'must be a number between 0 and 1', {
      value: options.sampleRatio ?? rawArg,
    });
  }
  return { sampler, sampleRatio: ratio };
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
    throw new TetherInvalidOptionError('traces', 'must be "otlp", "console", "none" or a SpanExporter', {
      value: options.traces,
    });
  }
  const fromEnv = env('OTEL_TRACES_EXPORTER');
  if (fromEnv !== undefined) {
    const names = fromEnv.split(',').map((s) => s.trim());
    if (names.length !== 1 || !['otlp', 'console', 'none'].includes(names[0] as string)) {
      throw new TetherInvalidOptionError(
        'OTEL_TRACES_EXPORTER',
        `must be ${describeChoices(TRACE_EXPORTERS)}`,
        {
          value: fromEnv,
        },
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
  return oneOfOption(
    field,
    env(field),
    'http/protobuf',
    ['http/protobuf', 'http/json'],
    ' (grpc is not bundled)',
  );
}

function positiveMsFromEnv(name: string, fallback: number): number {
  return integerFromEnv(process.env, name, fallback, { min: 1 });
}

function resolveMetricsExport(options: TelemetryOptions): ResolvedOptions['metricsExport'] {
  let to: 'otlp' | 'console' | 'none';
  if (options.metricsExport !== undefined) {
    to = oneOfOption('metricsExport', options.metricsExport, 'none', TRACE_EXPORTERS);
  } else if (env('OTEL_METRICS_EXPORTER') !== undefined) {
    const raw = env('OTEL_METRICS_EXPORTER') as string;
    const names = new Set(raw.split(',').map((s) => s.trim()));
    const unknown = [...names].filter((n) => !['otlp', 'console', 'prometheus', 'none'].includes(n));
    // One push target: two periodic readers would double every export for no gain.
    const push = [...names].filter((n) => n === 'otlp' || n === 'console');
    if (unknown.length > 0 || push.length > 1) {
      throw new TetherInvalidOptionError(
        'OTEL_METRICS_EXPORTER',
        'must be otlp, console, prometheus or none, with at most one of otlp and console',
        { value: raw },
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
    throw new TetherInvalidOptionError(field, `must be an array of ${what}`, { value });
  return value as T[];
}

function resolveInstrumentations(value: unknown): Required<InstrumentationSwitches> {
  const all = { http: true, express: false, pg: true, ioredis: true, fetch: true, runtime: true };
  if (value === undefined) return all;
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new TetherInvalidOptionError('instrumentations', 'must be an object like { pg: false }', { value });
  rejectUnknownKeys('instrumentations', value, Object.keys(all));
  for (const [name, on] of Object.entries(value)) booleanOption(`instrumentations.${name}`, on, true);
  return { ...all, ...(value as InstrumentationSwitches) };
}

export function resolveOptions(options: TelemetryOptions): ResolvedOptions {
  objectOption('options', options);
  const serviceName = requiredStringOption('serviceName', options.serviceName, ' (e.g. "api")');
  if (options.resourceAttributes !== undefined)
    objectOption('resourceAttributes', options.resourceAttributes);
  const ignoreIncomingPaths = options.ignoreIncomingPaths ?? ['/livez', '/readyz', '/startupz', '/metrics'];
  if (
    !Array.isArray(ignoreIncomingPaths) ||
    ignoreIncomingPaths.some((p) => typeof p !== 'string' || !p.startsWith('/'))
  ) {
    throw new TetherInvalidOptionError('ignoreIncomingPaths', 'must be an array of paths starting with "/"', {
      value: ignoreIncomingPaths,
    });
  }
  if (
    options.spanProcessors !== undefined &&
    (!Array.isArray(options.spanProcessors) ||
      options.spanProcessors.some((p) => typeof p?.onEnd !== 'function'))
  ) {
    throw new TetherInvalidOptionError('spanProcessors', 'must be an array of SpanProcessor', {
      value: options.spanProcessors,
    });
  }
  const metrics = booleanOption('metrics', options.metrics, true);
  if (options.lifecycle !== undefined)
    methodsOption('lifecycle', options.lifecycle, ['addShutdownHook'], ' (a @tether/shutdown Lifecycle)');
  const shutdownTimeoutMs = numberOption('shutdownTimeoutMs', options.shutdownTimeoutMs, 5000, {
    min: 1,
    integer: true,
  });
  const traces = resolveTraces(options);
  return {
    serviceName,
    serviceVersion: stringOption('serviceVersion', options.serviceVersion),
    environment: stringOption('environment', options.environment),
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
    metrics,
    lifecycle: options.lifecycle,
    shutdownTimeoutMs,
  };
}
