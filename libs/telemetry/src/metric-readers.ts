import { OTLPMetricExporter as OTLPJsonMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter as OTLPProtoMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import type { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import {
  ConsoleMetricExporter,
  type IMetricReader,
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

/** Every reader of the process: the Prometheus scrape endpoint, the push exporter the env asks for, the app's own. */
export function createMetricReaders(
  options: ResolvedOptions,
  prometheus: PrometheusExporter | undefined,
): IMetricReader[] {
  const readers: IMetricReader[] = prometheus ? [prometheus] : [];
  const exporter = pushExporter(options.metricsExport);
  if (exporter) {
    readers.push(
      new PeriodicExportingMetricReader({
        exporter,
        exportIntervalMillis: options.metricsExport.intervalMs,
        exportTimeoutMillis: options.metricsExport.timeoutMs,
      }),
    );
  }
  readers.push(...options.metricReaders);
  return readers;
}
