/** Load outcomes bucketed over time, for the report's plot. */
import type { RequestOutcome, Timeline, WebSocketClientEvent } from '@tether/rollout-sim';

export const bucketMs = 250;

export interface SeriesPoint {
  /** Bucket start, ms since the timeline's origin. */
  atMs: number;
  /** HTTP requests sent in this bucket that succeeded / failed. */
  ok: number;
  failed: number;
  /** WebSocket opens, closes and failed handshakes in this bucket. */
  wsOpens: number;
  wsCloses: number;
  wsConnectFailures: number;
}

export class Series {
  readonly #timeline: Timeline;
  readonly #points = new Map<number, SeriesPoint>();
  readonly #latencies: number[] = [];

  constructor(timeline: Timeline) {
    this.#timeline = timeline;
  }

  #at(timestamp: number): SeriesPoint {
    const atMs = Math.floor(this.#timeline.at(timestamp) / bucketMs) * bucketMs;
    let point = this.#points.get(atMs);
    if (!point) {
      point = { atMs, ok: 0, failed: 0, wsOpens: 0, wsCloses: 0, wsConnectFailures: 0 };
      this.#points.set(atMs, point);
    }
    return point;
  }

  request(outcome: RequestOutcome): void {
    const point = this.#at(outcome.startedAt);
    this.#latencies.push(Math.round(outcome.durationMs));
    if (outcome.failure === undefined) point.ok += 1;
    else point.failed += 1;
  }

  websocket(event: WebSocketClientEvent): void {
    const point = this.#at(event.at);
    if (event.kind === 'open') point.wsOpens += 1;
    else if (event.kind === 'close') point.wsCloses += 1;
    else point.wsConnectFailures += 1;
  }

  /** Every HTTP request's latency, ms, in completion order. */
  latencies(): number[] {
    return this.#latencies;
  }

  /** Every bucket from the first to the last, empty ones included. */
  points(): SeriesPoint[] {
    const keys = [...this.#points.keys()];
    if (keys.length === 0) return [];
    const out: SeriesPoint[] = [];
    for (let atMs = Math.min(...keys); atMs <= Math.max(...keys); atMs += bucketMs)
      out.push(
        this.#points.get(atMs) ?? { atMs, ok: 0, failed: 0, wsOpens: 0, wsCloses: 0, wsConnectFailures: 0 },
      );
    return out;
  }
}
