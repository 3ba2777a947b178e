import type { Attributes } from '@opentelemetry/api';
import type { SpanExporter, SpanProcessor } from '@opentelemetry/sdk-trace';
import { TelemetryConfigError } from './errors.ts';
import { type SamplerName, samplerNames } from './sampler.ts';

/** The part of `@tether/shutdown`'s Lifecycle telemetry needs (structural: libs never import each other's SDKs). */
export interface ShutdownRegistrar {
  addShutdownHook(name: string, fn: () => Promise<void>, options?: { timeoutMs?: number }): void;
}

export interface InstrumentationSwitches {
  /** Incoming and outgoing HTTP (server spans for Express routes). Default: true. */
  http?: boolean;
  /** Express routers and route handlers (middleware layers are skipped: cost without insight). Default: true. */
  express?: boolean;
  /** node-postgres queries and pool checkouts, only under an existing span. Default: true. */
  pg?: boolean;
  /** ioredis commands, only under an existing span. Default: true. */
  ioredis?: boolean;
}

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
  /** Which instrumentations to load. Default: all four on. */
  instrumentations?: InstrumentationSwitches;
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

function resolveProtocol(): ResolvedOptions['otlpProtocol'] {
  const field =
    env('OTEL_EXPORTER_OTLP_TRACES_PROTOCOL') !== undefined
      ? 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL'
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

function resolveInstrumentations(value: unknown): Required<InstrumentationSwitches> {
  const all = { http: true, express: true, pg: true, ioredis: true };
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
    otlpProtocol: traces === 'otlp' ? resolveProtocol() : 'http/protobuf',
    spanProcessors: options.spanProcessors,
    instrumentations: resolveInstrumentations(options.instrumentations),
    ignoreIncomingPaths,
    metrics: options.metrics ?? true,
    lifecycle: options.lifecycle,
    shutdownTimeoutMs,
  };
}
