/**
 * OTLP/JSON (ExportMetricsServiceRequest) -> one flat record per data point, enough to see in a
 * file that an app's metrics arrive and what they say; not a metrics store.
 */
import { type AttributeValue, attributes, nanosToMs } from './otlp-json.ts';

export interface FlatMetricPoint {
  name: string;
  unit: string;
  /** `sum` (counters, up-down counters), `gauge`, `histogram` or `exponentialHistogram` */
  type: string;
  service: string;
  scope: string;
  timeMs: number;
  attributes: Record<string, AttributeValue>;
  /** sums and gauges */
  value?: number;
  /** histograms */
  count?: number;
  sum?: number;
}

const pointTypes = ['sum', 'gauge', 'histogram', 'exponentialHistogram'] as const;

/** Throws a plain Error with a readable reason when the body is not an OTLP JSON metrics request. */
export function flattenOtlpMetricsJson(body: unknown): FlatMetricPoint[] {
  const resourceMetrics = (body as { resourceMetrics?: unknown } | null)?.resourceMetrics;
  if (!Array.isArray(resourceMetrics))
    throw new Error('not an OTLP ExportMetricsServiceRequest: missing resourceMetrics[]');
  const out: FlatMetricPoint[] = [];
  for (const rm of resourceMetrics as Record<string, unknown>[]) {
    const resource = attributes((rm['resource'] as { attributes?: never } | undefined)?.attributes);
    const service = typeof resource['service.name'] === 'string' ? resource['service.name'] : 'unknown';
    for (const sm of (rm['scopeMetrics'] as Record<string, unknown>[] | undefined) ?? []) {
      const scope = (sm['scope'] as { name?: string } | undefined)?.name ?? '';
      for (const m of (sm['metrics'] as Record<string, unknown>[] | undefined) ?? []) {
        const type = pointTypes.find((t) => m[t] !== undefined);
        if (type === undefined) continue;
        const points = ((m[type] as { dataPoints?: Record<string, unknown>[] }).dataPoints ?? []).map((p) => {
          const point: FlatMetricPoint = {
            name: String(m['name']),
            unit: String(m['unit'] ?? ''),
            type,
            service,
            scope,
            timeMs: nanosToMs(p['timeUnixNano'] as string),
            attributes: attributes(p['attributes'] as never),
          };
          if (p['asDouble'] !== undefined) point.value = Number(p['asDouble']);
          if (p['asInt'] !== undefined) point.value = Number(p['asInt']);
          if (p['count'] !== undefined) point.count = Number(p['count']);
          if (p['sum'] !== undefined) point.sum = Number(p['sum']);
          return point;
        });
        out.push(...points);
      }
    }
  }
  return out;
}
