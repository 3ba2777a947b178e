import type { AttributeValue, FlatSpan } from './otlp-json.ts';

const DEPENDENCY = 'tether.outage.dependency';

function clock(ms: number): string {
  return new Date(ms).toISOString().slice(11, 23);
}

function offset(ms: number, from: number): string {
  return `+${((ms - from) / 1000).toFixed(3)} s`;
}

function errorText(attributes: Record<string, AttributeValue>): string {
  const type = attributes['error.type'];
  const message = attributes['exception.message'];
  return [type, message].filter((v) => v !== undefined && v !== null && v !== '').join(' ');
}

export function isOutage(span: FlatSpan): boolean {
  return span.attributes[DEPENDENCY] !== undefined && span.name.startsWith('outage ');
}

/**
 * Every outage episode as a readable timeline: the first failure, each reconnect attempt, the
 * recovery, then the operations that linked to it (waited or were retried).
 */
export function formatOutages(spans: FlatSpan[], filter: { dependency?: string } = {}): string {
  const outages = spans
    .filter(isOutage)
    .filter((s) => filter.dependency === undefined || s.attributes[DEPENDENCY] === filter.dependency)
    .sort((a, b) => a.startMs - b.startMs);
  if (outages.length === 0)
    return filter.dependency ? `no outage of ${filter.dependency} recorded\n` : 'no outage recorded\n';
  const blocks = outages.map((o) => {
    const a = o.attributes;
    const lines = [`${o.name}  [service ${o.service}, trace ${o.traceId}]`];
    const first = errorText(a);
    lines.push(
      `  ${clock(o.startMs)}  ${offset(o.startMs, o.startMs)}  first failure${first ? `: ${first}` : ''}`,
    );
    for (const e of o.events) {
      if (e.name === 'reconnect.attempt') {
        const delay = e.attributes['tether.reconnect.delay_ms'];
        const error = errorText(e.attributes);
        lines.push(
          `  ${clock(e.timeMs)}  ${offset(e.timeMs, o.startMs)}  reconnect attempt #${e.attributes['tether.reconnect.attempt']}` +
            `${delay !== undefined ? ` (after ${delay} ms)` : ''}${error ? `: ${error}` : ''}`,
        );
      } else {
        lines.push(`  ${clock(e.timeMs)}  ${offset(e.timeMs, o.startMs)}  ${e.name}`);
      }
    }
    const outcome = a['tether.outage.outcome'] === 'closed' ? 'closed while still down' : 'recovered';
    lines.push(
      `  ${clock(o.endMs)}  ${offset(o.endMs, o.startMs)}  ${outcome} after ${(o.durationMs / 1000).toFixed(3)} s, ` +
        `${a['tether.outage.attempts'] ?? 0} attempts, ${a['tether.outage.failures'] ?? 0} failures`,
    );
    const linked = spans
      .filter((s) => s.links.some((l) => l.spanId === o.spanId && l.traceId === o.traceId))
      .sort((x, y) => x.startMs - y.startMs);
    if (linked.length > 0) {
      lines.push(`  operations that waited or were retried (${linked.length}):`);
      for (const s of linked) {
        lines.push(
          `  ${clock(s.startMs)}  ${offset(s.startMs, o.startMs)}  ${s.name}  [${s.service}, trace ${s.traceId}, ${s.durationMs.toFixed(1)} ms]`,
        );
      }
    }
    return lines.join('\n');
  });
  return `${blocks.join('\n\n')}\n`;
}

/** One trace as an indented tree (children under parents, by start time). */
export function formatTrace(spans: FlatSpan[], traceId: string): string {
  const inTrace = spans.filter((s) => s.traceId === traceId).sort((a, b) => a.startMs - b.startMs);
  if (inTrace.length === 0) return `no spans for trace ${traceId}\n`;
  const ids = new Set(inTrace.map((s) => s.spanId));
  const children = new Map<string | undefined, FlatSpan[]>();
  for (const s of inTrace) {
    const parent = s.parentSpanId && ids.has(s.parentSpanId) ? s.parentSpanId : undefined;
    children.set(parent, [...(children.get(parent) ?? []), s]);
  }
  const t0 = inTrace[0]?.startMs ?? 0;
  const lines: string[] = [];
  const walk = (parent: string | undefined, depth: number) => {
    for (const s of children.get(parent) ?? []) {
      const status = s.status.code === 2 ? `  ERROR ${s.status.message ?? ''}` : '';
      lines.push(
        `${offset(s.startMs, t0).padStart(11)}  ${'  '.repeat(depth)}${s.name}  [${s.service}, ${s.durationMs.toFixed(1)} ms]${status}`,
      );
      walk(s.spanId, depth + 1);
    }
  };
  walk(undefined, 0);
  return `${lines.join('\n')}\n`;
}
