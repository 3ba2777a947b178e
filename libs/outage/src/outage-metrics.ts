import { type Counter, type Histogram, type Meter, metrics, type UpDownCounter } from '@opentelemetry/api';

/** The instruments every tracker reports to. Names are part of Tether's metrics contract. */
export interface OutageInstruments {
  /** `tether.outage.count`: episodes opened. */
  count: Counter;
  /** `tether.outage.duration` (s): episode length, first failure to first success (or close). */
  duration: Histogram;
  /** `tether.outage.active`: 1 while an episode is open for the dependency, else 0. */
  active: UpDownCounter;
}

// Whole outages are seconds to minutes long; the default buckets (up to 10 s with ms-ish steps)
// would put every real outage in the overflow bucket.
const durationBucketsS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

export function createInstruments(meter: Meter | undefined): OutageInstruments {
  const m = meter ?? metrics.getMeter('@tether/outage');
  return {
    count: m.createCounter('tether.outage.count', {
      description: 'Outage episodes opened, by dependency',
      unit: '{outage}',
    }),
    duration: m.createHistogram('tether.outage.duration', {
      description: 'Outage episode duration, first failure to first success',
      unit: 's',
      advice: { explicitBucketBoundaries: durationBucketsS },
    }),
    active: m.createUpDownCounter('tether.outage.active', {
      description: 'Open outage episodes, by dependency',
      unit: '{outage}',
    }),
  };
}
