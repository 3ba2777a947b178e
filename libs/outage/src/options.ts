import type { Attributes, Meter, Tracer } from '@opentelemetry/api';
import { OutageOptionsError } from './errors.ts';

export interface OutageTrackerOptions {
  /**
   * Name of the dependency whose connection is tracked, e.g. `postgres`, `redis`, `ws:gateway`.
   * Required, non-empty. Names the span (`outage <dependency>`) and labels the metrics.
   */
  dependency: string;
  /**
   * Extra attributes put on every episode span, e.g. `{ 'server.address': 'db', 'server.port': 5432 }`.
   * Default: none. Never put credentials here: spans are exported.
   */
  attributes?: Attributes;
  /** Tracer for the episode spans. Default: the global tracer `@tether/outage`. */
  tracer?: Tracer;
  /**
   * Meter for `tether.outage.*` metrics. Default: the global meter `@tether/outage`, looked up at the
   * first failure (not at construction) so a tracker created before the SDK starts still reports.
   */
  meter?: Meter;
}

export function validateOptions(options: OutageTrackerOptions): void {
  if (options === null || typeof options !== 'object')
    throw new OutageOptionsError('options', 'must be an object');
  if (typeof options.dependency !== 'string' || options.dependency.trim() === '') {
    throw new OutageOptionsError('dependency', 'must be a non-empty string (e.g. "postgres")');
  }
  if (
    options.attributes !== undefined &&
    (options.attributes === null ||
      typeof options.attributes !== 'object' ||
      Array.isArray(options.attributes))
  ) {
    throw new OutageOptionsError('attributes', 'must be an object of span attributes');
  }
  if (options.tracer !== undefined && typeof options.tracer?.startSpan !== 'function') {
    throw new OutageOptionsError('tracer', 'must be an OpenTelemetry Tracer (has startSpan)');
  }
  if (options.meter !== undefined && typeof options.meter?.createHistogram !== 'function') {
    throw new OutageOptionsError('meter', 'must be an OpenTelemetry Meter (has createHistogram)');
  }
}
