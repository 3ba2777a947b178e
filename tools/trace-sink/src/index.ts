export { type AttributeValue, type FlatSpan, flattenOtlpJson } from './otlp-json.ts';
export { type FlatMetricPoint, flattenOtlpMetricsJson } from './otlp-metrics-json.ts';
export { readSpans } from './read-spans.ts';
export { startTraceSink, type TraceSink, type TraceSinkOptions } from './sink-server.ts';
export { formatOutages, formatTrace, isOutage } from './timeline.ts';
