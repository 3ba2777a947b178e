/** A scenario's timeline: request rate and errors per bucket, outage spans, reconnect gaps, marks. */
import type { FlatSpan } from '@tether/trace-sink';
import type { Gap } from './followers.ts';
import type { Attempt } from './load.ts';

export interface Series {
  /** Bucket start, ms since the epoch. */
  t: number[];
  ok: number[];
  errors: number[];
}

export interface Span {
  label: string;
  startMs: number;
  endMs: number;
}

export interface Mark {
  label: string;
  atMs: number;
}

export interface Timeline {
  startMs: number;
  endMs: number;
  bucketMs: number;
  tether: Series;
  control?: Series;
  /** Outage spans from the trace sink (one per app and dependency episode). */
  outages: Span[];
  /** WebSocket clients disconnected, per bucket. */
  disconnected: number[];
  marks: Mark[];
}

export function series(attempts: Attempt[], startMs: number, endMs: number, bucketMs: number): Series {
  const n = Math.max(1, Math.ceil((endMs - startMs) / bucketMs));
  const out: Series = {
    t: Array.from({ length: n }, (_, i) => startMs + i * bucketMs),
    ok: new Array<number>(n).fill(0),
    errors: new Array<number>(n).fill(0),
  };
  for (const a of attempts) {
    const i = Math.floor((a.endMs - startMs) / bucketMs);
    if (i < 0 || i >= n) continue;
    if (a.ok) (out.ok[i] as number)++;
    else (out.errors[i] as number)++;
  }
  return out;
}

export function disconnectedSeries(
  gaps: Gap[][],
  startMs: number,
  endMs: number,
  bucketMs: number,
): number[] {
  const n = Math.max(1, Math.ceil((endMs - startMs) / bucketMs));
  const out = new Array<number>(n).fill(0);
  for (const client of gaps) {
    for (const gap of client) {
      const from = Math.max(0, Math.floor((gap.startMs - startMs) / bucketMs));
      const to = Math.min(n - 1, Math.floor(((gap.endMs ?? endMs) - startMs) / bucketMs));
      for (let i = from; i <= to; i++) (out[i] as number)++;
    }
  }
  return out;
}

/** Outage spans (`outage <dependency>`) that overlap [startMs, endMs]. */
export function outageSpans(spans: FlatSpan[], startMs: number, endMs: number): Span[] {
  return spans
    .filter((s) => s.name.startsWith('outage ') && s.endMs >= startMs && s.startMs <= endMs)
    .map((s) => ({ label: `${s.service}: ${s.name}`, startMs: s.startMs, endMs: s.endMs }))
    .sort((a, b) => a.startMs - b.startMs);
}
