import { OTLPMetricExporter as OTLPJsonMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter as OTLPProtoMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import type { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import {
  AggregationTemporality,
  AggregationType,
  ConsoleMetricExporter,
  type IMetricReader,
  InstrumentType,
  PeriodicExportingMetricReader,
  type PushMetricExporter,
} from '@opentelemetry/sdk-metrics';
import type { ResolvedOptions } from './options.ts';

function pushExporter(options: ResolvedOptions['metricsExport']): PushMetricExporter | undefined {
  if (options.to === 'console') return new ConsoleMetricExporter();
  if (options.to === 'otlp') {
    // Both read OTEL_EXPORTER_OTLP_(METRICS_)ENDPOINT / _HEADERS / _TIMEOUT / _TEMPORALITY_PREFERENCE themselves.
    return options.protocol === 'http/json' ? new OTLPJsonMetricExporter() : new OTLPProtoMetricExporter();
  }
  return undefined;
}

/** True when the exporter wants exactly what the Prometheus reader collects: cumulative, default aggregations. */
function wantsPrometheusData(exporter: PushMetricExporter): boolean {
  return Object.values(InstrumentType).every(
    (type) =>
      (exporter.selectAggregationTemporality?.(type) ?? AggregationTemporality.CUMULATIVE) ===
        AggregationTemporality.CUMULATIVE &&
      (exporter.selectAggregation?.(type).type ?? AggregationType.DEFAULT) === AggregationType.DEFAULT,
  );
}

export interface MetricReaders {
  /** Registered with the MeterProvider. */
  readers: IMetricReader[];
  /**
   * The push reader when it exports the Prometheus reader's collection instead of keeping its own
   * copy of every series: `bind()` it once the SDK has started, shut it down before the SDK.
   */
  sharedPush?: { reader: PeriodicExportingMetricReader; bind(): void };
}

/**
 * Every reader of the process: the Prometheus scrape endpoint, the push exporter the env asks for, the
 * app's own. Each reader registered with the MeterProvider gets its own storage, so every `record()`
 * hashes its attributes and updates an aggregate once per reader. When the push exporter wants
 * cumulative data with the default aggregations (the OTLP default), it is not registered: it exports
 * what the Prometheus reader collects, at its own interval, and a request pays for one reader, not two.
 */
export function createMetricReaders(
  options: ResolvedOptions,
  prometheus: PrometheusExporter | undefined,
): MetricReaders {
  const readers: IMetricReader[] = prometheus ? [prometheus] : [];
  const exporter = pushExporter(options.metricsExport);
  let sharedPush: MetricReaders['sharedPush'];
  if (exporter) {
    const reader = new PeriodicExportingMetricReader({
      exporter,
      exportIntervalMillis: options.metricsExport.intervalMs,
      exportTimeoutMillis: options.metricsExport.timeoutMs,
    });
    if (prometheus && wantsPrometheusData(exporter)) {
      sharedPush = {
        reader,
        bind: () =>
          reader.setMetricProducer({ collect: (collectOptions) => prometheus.collect(collectOptions) }),
      };
    } else {
      readers.push(reader);
    }
  }
  readers.push(...options.metricReaders);
  return { readers, ...(sharedPush ? { sharedPush } : {}) };
}
