import {
  type Attributes,
  type Span,
  type SpanContext,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import { describeError } from './error-description.ts';
import { createInstruments, type OutageInstruments } from './outage-metrics.ts';
import { type OutageTrackerOptions, validateOptions } from './options.ts';

/** Attribute naming the dependency, on spans, events, links and metrics. */
export const DEPENDENCY_ATTRIBUTE = 'tether.outage.dependency';

export interface ReconnectAttempt {
  /** 1-based attempt number as the reconnect loop counts it. Default: the tracker's own count. */
  attempt?: number;
  /** Delay before this attempt, in ms (the backoff the loop chose). */
  delayMs?: number;
  /** Why the previous attempt failed, if it did. Recorded as `error.type` + redacted message. */
  error?: unknown;
}

interface Episode {
  span: Span;
  /** `performance.now()` at the first failure: monotonic, immune to wall-clock jumps (NTP, VM resume). */
  startedAtMs: number;
  attempts: number;
  failures: number;
}

/**
 * One outage of one dependency as one trace: a root span `outage <dependency>` from the first
 * connection-level failure to the first success, a `reconnect.attempt` event per attempt, and links
 * from the operations that waited or were retried meanwhile.
 *
 * Callers report facts (`failure`, `attempt`, `success`) from wherever they see them, concurrently
 * and repeatedly; the tracker turns them into exactly one episode at a time. It never throws once
 * constructed: telemetry must not turn an outage into a crash.
 */
export class OutageTracker {
  readonly dependency: string;
  private readonly tracer: Tracer;
  private readonly attributes: Attributes;
  private readonly meter: OutageTrackerOptions['meter'];
  private instruments: OutageInstruments | undefined;
  private current: Episode | undefined;
  private closed = false;

  constructor(options: OutageTrackerOptions) {
    validateOptions(options);
    this.dependency = options.dependency;
    this.tracer = options.tracer ?? trace.getTracer('@tether/outage');
    this.attributes = { ...options.attributes };
    this.meter = options.meter;
  }

  /** True while an episode is open (between the first failure and the first success). */
  get inOutage(): boolean {
    return this.current !== undefined;
  }

  /** The open episode's span context, to link operations to; `undefined` when healthy. */
  get episode(): SpanContext | undefined {
    return this.current?.span.spanContext();
  }

  /**
   * A connection-level failure (socket error, connect refused, server shutting down). Opens an
   * episode if none is open; further failures during the episode are only counted. A closed
   * tracker ignores failures: an episode opened while draining would never end.
   */
  failure(error?: unknown): void {
    if (this.closed) return;
    if (this.current) {
      this.current.failures++;
      return;
    }
    const span = this.tracer.startSpan(`outage ${this.dependency}`, {
      root: true,
      kind: SpanKind.INTERNAL,
      attributes: { ...this.attributes, [DEPENDENCY_ATTRIBUTE]: this.dependency, ...describeError(error) },
    });
    this.current = { span, startedAtMs: performance.now(), attempts: 0, failures: 1 };
    const metrics = this.metrics();
    metrics.count.add(1, this.metricAttributes());
    metrics.active.add(1, this.metricAttributes());
  }

  /** A reconnect attempt: a `reconnect.attempt` event on the open episode; no-op when healthy. */
  attempt(info: ReconnectAttempt = {}): void {
    const episode = this.current;
    if (!episode) return;
    episode.attempts = Math.max(episode.attempts + 1, info.attempt ?? 0);
    const attributes: Attributes = {
      'tether.reconnect.attempt': info.attempt ?? episode.attempts,
      ...describeError(info.error),
    };
    if (info.delayMs !== undefined && Number.isFinite(info.delayMs))
      attributes['tether.reconnect.delay_ms'] = info.delayMs;
    episode.span.addEvent('reconnect.attempt', attributes);
  }

  /** The first success after failures ends the episode (status OK); no-op when healthy. */
  success(): void {
    this.end(SpanStatusCode.OK, undefined, 'recovered');
  }

  /**
   * Ends an open episode with status ERROR (the dependency never came back while we watched) and
   * stops tracking. Call it when the owning pool or client is closed.
   */
  close(): void {
    this.end(SpanStatusCode.ERROR, 'closed during outage', 'closed');
    this.closed = true;
  }

  /**
   * Links `span` (an operation that waited for or was retried across the outage) to the open
   * episode. Returns whether a link was added.
   */
  linkTo(span: Span, attributes: Attributes = {}): boolean {
    const context = this.episode;
    if (!context) return false;
    span.addLink({ context, attributes: { [DEPENDENCY_ATTRIBUTE]: this.dependency, ...attributes } });
    return true;
  }

  private end(code: SpanStatusCode, message: string | undefined, outcome: 'recovered' | 'closed'): void {
    const episode = this.current;
    if (!episode) return;
    this.current = undefined;
    const durationMs = performance.now() - episode.startedAtMs;
    episode.span.setAttributes({
      'tether.outage.attempts': episode.attempts,
      'tether.outage.failures': episode.failures,
      'tether.outage.duration_ms': Math.round(durationMs),
      'tether.outage.outcome': outcome,
    });
    episode.span.setStatus(message === undefined ? { code } : { code, message });
    episode.span.end();
    const metrics = this.metrics();
    metrics.duration.record(durationMs / 1000, {
      ...this.metricAttributes(),
      'tether.outage.outcome': outcome,
    });
    metrics.active.add(-1, this.metricAttributes());
  }

  private metrics(): OutageInstruments {
    this.instruments ??= createInstruments(this.meter);
    return this.instruments;
  }

  private metricAttributes(): Attributes {
    return { [DEPENDENCY_ATTRIBUTE]: this.dependency };
  }
}
