/**
 * OTLP/JSON (ExportTraceServiceRequest) -> one flat record per span. The OTLP JSON encoding uses
 * hex ids and decimal-string nanosecond timestamps; see opentelemetry-proto's JSON mapping.
 */

export type AttributeValue = string | number | boolean | null | AttributeValue[];

export interface FlatSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  /** OTLP kind: 1 internal, 2 server, 3 client, 4 producer, 5 consumer */
  kind: number;
  service: string;
  scope: string;
  /** ms since the epoch, with sub-ms precision */
  startMs: number;
  endMs: number;
  durationMs: number;
  attributes: Record<string, AttributeValue>;
  events: { name: string; timeMs: number; attributes: Record<string, AttributeValue> }[];
  links: { traceId: string; spanId: string; attributes: Record<string, AttributeValue> }[];
  /** 0 unset, 1 ok, 2 error */
  status: { code: number; message?: string };
  resource: Record<string, AttributeValue>;
}

interface OtlpKeyValue {
  key: string;
  value?: OtlpAnyValue;
}
interface OtlpAnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string | number;
  doubleValue?: number;
  arrayValue?: { values?: OtlpAnyValue[] };
  kvlistValue?: { values?: OtlpKeyValue[] };
  bytesValue?: string;
}

function anyValue(v: OtlpAnyValue | undefined): AttributeValue {
  if (!v) return null;
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.arrayValue) return (v.arrayValue.values ?? []).map(anyValue);
  if (v.kvlistValue) return JSON.stringify(attributes(v.kvlistValue.values));
  if (v.bytesValue !== undefined) return v.bytesValue;
  return null;
}

export function attributes(list: OtlpKeyValue[] | undefined): Record<string, AttributeValue> {
  const out: Record<string, AttributeValue> = {};
  for (const kv of list ?? []) out[kv.key] = anyValue(kv.value);
  return out;
}

export const nanosToMs = (nanos: string | number | undefined): number => {
  if (nanos === undefined) return 0;
  const big = BigInt(nanos);
  return Number(big / 1000n) / 1000;
};

/** Throws a plain Error with a readable reason when the body is not an OTLP JSON trace request. */
export function flattenOtlpJson(body: unknown): FlatSpan[] {
  if (
    body === null ||
    typeof body !== 'object' ||
    !Array.isArray((body as { resourceSpans?: unknown }).resourceSpans)
  ) {
    throw new Error('not an OTLP ExportTraceServiceRequest: missing resourceSpans[]');
  }
  const out: FlatSpan[] = [];
  for (const rs of (body as { resourceSpans: Record<string, unknown>[] }).resourceSpans) {
    const resource = attributes((rs['resource'] as { attributes?: OtlpKeyValue[] } | undefined)?.attributes);
    const service = typeof resource['service.name'] === 'string' ? resource['service.name'] : 'unknown';
    for (const ss of (rs['scopeSpans'] as Record<string, unknown>[] | undefined) ?? []) {
      const scope = (ss['scope'] as { name?: string } | undefined)?.name ?? '';
      for (const s of (ss['spans'] as Record<string, unknown>[] | undefined) ?? []) {
        const startMs = nanosToMs(s['startTimeUnixNano'] as string);
        const endMs = nanosToMs(s['endTimeUnixNano'] as string);
        const status = (s['status'] as { code?: number; message?: string } | undefined) ?? {};
        const span: FlatSpan = {
          traceId: String(s['traceId']),
          spanId: String(s['spanId']),
          name: String(s['name']),
          kind: Number(s['kind'] ?? 0),
          service,
          scope,
          startMs,
          endMs,
          durationMs: Math.round((endMs - startMs) * 1000) / 1000,
          attributes: attributes(s['attributes'] as OtlpKeyValue[]),
          events: ((s['events'] as Record<string, unknown>[] | undefined) ?? []).map((e) => ({
            name: String(e['name']),
            timeMs: nanosToMs(e['timeUnixNano'] as string),
            attributes: attributes(e['attributes'] as OtlpKeyValue[]),
          })),
          links: ((s['links'] as Record<string, unknown>[] | undefined) ?? []).map((l) => ({
            traceId: String(l['traceId']),
            spanId: String(l['spanId']),
            attributes: attributes(l['attributes'] as OtlpKeyValue[]),
          })),
          status: { code: Number(status.code ?? 0), ...(status.message ? { message: status.message } : {}) },
          resource,
        };
        if (typeof s['parentSpanId'] === 'string' && s['parentSpanId'] !== '')
          span.parentSpanId = s['parentSpanId'];
        out.push(span);
      }
    }
  }
  return out;
}
