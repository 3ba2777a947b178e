import type { Attributes, Meter, Tracer } from '@opentelemetry/api';
import { methodsOption, objectOption, requiredStringOption } from '@tether/errors';

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
  objectOption('options', options);
  requiredStringOption('dependency', options.dependency, ' (e.g. "postgres")');
  if (options.attributes !== undefined) objectOption('attributes', options.attributes);
  if (options.tracer !== undefined)
    methodsOption('tracer', options.tracer, ['startSpan'], ' (an OpenTelemetry Tracer)');
  if (options.meter !== undefined)
    methodsOption('meter', options.meter, ['createHistogram'], ' (an OpenTelemetry Meter)');
}
