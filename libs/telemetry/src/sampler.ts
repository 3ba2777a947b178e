import type { Attributes, Context, Link, SpanKind } from '@opentelemetry/api';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  ParentBasedSampler,
  type Sampler,
  SamplingDecision,
  type SamplingResult,
  TraceIdRatioBasedSampler,
} from '@opentelemetry/sdk-trace';
import { DEPENDENCY_ATTRIBUTE } from '@tether/outage';

export type SamplerName =
  | 'always_on'
  | 'always_off'
  | 'traceidratio'
  | 'parentbased_always_on'
  | 'parentbased_always_off'
  | 'parentbased_traceidratio';

export const samplerNames: readonly SamplerName[] = [
  'always_on',
  'always_off',
  'traceidratio',
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio',
];

/**
 * Always records outage episode spans (they carry `tether.outage.dependency` from the start):
 * outages are rare, cheap to keep, and exactly what an operator opens the tracing UI for. Every
 * other span goes to the configured sampler.
 */
export class OutageAwareSampler implements Sampler {
  private readonly delegate: Sampler;

  constructor(delegate: Sampler) {
    this.delegate = delegate;
  }

  shouldSample(
    context: Context,
    traceId: string,
    name: string,
    kind: SpanKind,
    attributes: Attributes,
    links: Link[],
  ): SamplingResult {
    if (attributes[DEPENDENCY_ATTRIBUTE] !== undefined && name.startsWith('outage ')) {
      return { decision: SamplingDecision.RECORD_AND_SAMPLED };
    }
    return this.delegate.shouldSample(context, traceId, name, kind, attributes, links);
  }

  toString(): string {
    return `OutageAwareSampler{${this.delegate.toString()}}`;
  }
}

export function createSampler(name: SamplerName, ratio: number): Sampler {
  const base = (() => {
    switch (name) {
      case 'always_on':
        return new AlwaysOnSampler();
      case 'always_off':
        return new AlwaysOffSampler();
      case 'traceidratio':
        return new TraceIdRatioBasedSampler(ratio);
      case 'parentbased_always_on':
        return new ParentBasedSampler({ root: new AlwaysOnSampler() });
      case 'parentbased_always_off':
        return new ParentBasedSampler({ root: new AlwaysOffSampler() });
      case 'parentbased_traceidratio':
        return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio) });
    }
  })();
  return new OutageAwareSampler(base);
}
