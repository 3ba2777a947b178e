/**
 * Dependency outages for the dev console's timeline, read from the local trace sink's file
 * (`.tether/traces.jsonl`, one OTLP span per line): each `outage <dependency>` span of
 * `@tether/outage` becomes one bar. Parsed here rather than with `@tether/trace-sink`'s reader
 * because the devstack is a testkit, and testkits depend on testkits only; the line format is
 * trace-sink's documented one (its README, "Each line of the file").
 */
import { existsSync, readFileSync } from 'node:fs';

const DEPENDENCY = 'tether.outage.dependency';

/** One outage episode of one dependency, as seen by one service. */
export interface OutageBar {
  dependency: string;
  service: string;
  /** ms since the epoch */
  startMs: number;
  endMs: number;
  /** `recovered`, or `closed` when the app shut down while the dependency was still down. */
  outcome: 'recovered' | 'closed';
  attempts: number;
  failures: number;
  /** The first failure's error type (`ECONNREFUSED`, `57P01`…): never a message, which may echo a DSN. */
  errorType?: string;
  traceId: string;
}

interface SpanLine {
  traceId?: string;
  name?: string;
  service?: string;
  startMs?: number;
  endMs?: number;
  attributes?: Record<string, unknown>;
}

function toBar(span: SpanLine): OutageBar | undefined {
  const a = span.attributes ?? {};
  const dependency = a[DEPENDENCY];
  if (typeof dependency !== 'string' || !span.name?.startsWith('outage ')) return undefined;
  if (typeof span.startMs !== 'number' || typeof span.endMs !== 'number') return undefined;
  const errorType = a['error.type'];
  return {
    dependency,
    service: span.service ?? 'unknown',
    startMs: span.startMs,
    endMs: span.endMs,
    outcome: a['tether.outage.outcome'] === 'closed' ? 'closed' : 'recovered',
    attempts: Number(a['tether.outage.attempts'] ?? 0),
    failures: Number(a['tether.outage.failures'] ?? 0),
    ...(typeof errorType === 'string' ? { errorType } : {}),
    traceId: span.traceId ?? '',
  };
}

/**
 * Every outage recorded in `file`, oldest first; a missing file is no outage. A line cut by a crash
 * mid-append is skipped.
 */
export function readOutages(file: string | undefined): OutageBar[] {
  if (file === undefined || !existsSync(file)) return [];
  const bars: OutageBar[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.includes(DEPENDENCY)) continue; // most spans are requests: skip them unparsed
    try {
      const bar = toBar(JSON.parse(line) as SpanLine);
      if (bar) bars.push(bar);
    } catch {
      // half a line
    }
  }
  return bars.sort((x, y) => x.startMs - y.startMs);
}
