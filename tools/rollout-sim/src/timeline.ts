/** What happened to a pod (or to the Service's view of it), in order. */
export type TimelineEventKind =
  | 'created'
  | 'started'
  | 'startup-passed'
  | 'startup-failed'
  | 'ready'
  | 'unready'
  | 'liveness-failed'
  | 'exited'
  | 'restarting'
  | 'routable'
  | 'unroutable'
  | 'terminating'
  | 'prestop-done'
  | 'sigterm'
  | 'terminated'
  | 'rollout-started'
  | 'rollout-done';

export interface TimelineEvent {
  /** Milliseconds since the timeline's origin. */
  atMs: number;
  /** Pod name; empty for events of the Deployment itself. */
  pod: string;
  kind: TimelineEventKind;
  /** Free text (exit code, reason, restart count). */
  detail?: string;
}

/** An append-only record of lifecycle events, timed from one origin (performance.now()). */
export class Timeline {
  readonly origin: number;
  readonly events: TimelineEvent[] = [];

  constructor(origin = performance.now()) {
    this.origin = origin;
  }

  /** Milliseconds since the origin, now or at a performance.now() timestamp. */
  at(timestamp = performance.now()): number {
    return Math.round(timestamp - this.origin);
  }

  record(pod: string, kind: TimelineEventKind, detail?: string, timestamp?: number): void {
    this.events.push({ atMs: this.at(timestamp), pod, kind, ...(detail === undefined ? {} : { detail }) });
  }
}
