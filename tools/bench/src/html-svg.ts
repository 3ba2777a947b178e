/**
 * The report's charts as inline SVG strings: bar pairs (baseline vs candidate), percentile curves
 * and ratios against goals. Hand-drawn, no library: the page must open offline, from a file, years
 * later. Every element a reader (or the report test) looks for carries a class: `bar-baseline`,
 * `bar-candidate`, `curve-baseline`, `curve-candidate`, `ratio-met`, `ratio-missed`, `ratio-none`.
 */
import { type LatencyCurve, nines } from './curve.ts';
import { formatNumber, type SummaryRow } from './results.ts';

/** Escapes text for HTML and SVG content and attribute values. */
export function esc(text: unknown): string {
  return String(text).replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string,
  );
}

const fixed = (n: number): string => (Number.isFinite(n) ? n.toFixed(1) : '0');

function svg(cls: string, width: number, height: number, title: string, body: string): string {
  return (
    `<svg class="chart ${cls}" role="img" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" ` +
    `xmlns="http://www.w3.org/2000/svg"><title>${esc(title)}</title>${body}</svg>`
  );
}

function text(x: number, y: number, content: string, cls = '', anchor = 'start'): string {
  return `<text x="${fixed(x)}" y="${fixed(y)}" class="${cls}" text-anchor="${anchor}">${esc(content)}</text>`;
}

export interface BarPair {
  label: string;
  baseline: number;
  candidate: number;
  unit: string;
}

/**
 * One pair of horizontal bars per row, baseline above candidate. Each pair has its own scale (rows
 * measure different things, from 30k ops/s to 5 ms): compare within a pair, read values from labels.
 */
export function barPairs(
  title: string,
  rows: BarPair[],
  labels: { baseline: string; candidate: string },
): string {
  const width = 720;
  const barMax = width - 170;
  const rowHeight = 56;
  const height = rows.length * rowHeight + 28;
  let body = legend(labels, 4);
  rows.forEach((row, i) => {
    const top = 28 + i * rowHeight;
    const max = Math.max(row.baseline, row.candidate);
    const scale = (v: number) => (max > 0 && Number.isFinite(v) ? (Math.max(0, v) / max) * barMax : 0);
    body += text(0, top + 11, row.label, 'row-label');
    (['baseline', 'candidate'] as const).forEach((arm, k) => {
      const y = top + 16 + k * 17;
      const w = scale(row[arm]);
      body +=
        `<rect class="bar bar-${arm}" x="0" y="${y}" width="${fixed(Math.max(w, 1))}" height="14">` +
        `<title>${esc(`${labels[arm]}: ${formatNumber(row[arm])} ${row.unit}`)}</title></rect>` +
        text(w + 6, y + 11, `${formatNumber(row[arm])} ${row.unit}`, 'value');
    });
  });
  return svg('chart-bars', width, height, title, body);
}

function legend(labels: { baseline: string; candidate: string }, y: number): string {
  return (
    `<rect class="swatch swatch-baseline" x="0" y="${y}" width="12" height="12"/>` +
    text(18, y + 10, labels.baseline, 'legend') +
    `<rect class="swatch swatch-candidate" x="${fixed(30 + labels.baseline.length * 7)}" y="${y}" width="12" height="12"/>` +
    text(48 + labels.baseline.length * 7, y + 10, labels.candidate, 'legend')
  );
}

const NINES_LABELS = ['p0', 'p90', 'p99', 'p99.9', 'p99.99', 'p99.999'];

/**
 * Latency against percentile, the x axis in "nines" (p90, p99, p99.9 equally spaced) so the tail is
 * readable; the y axis turns logarithmic when the tail is more than 20x the fastest request.
 */
export function curveChart(
  title: string,
  curves: { baseline?: LatencyCurve | undefined; candidate?: LatencyCurve | undefined },
  labels: { baseline: string; candidate: string },
  unit = 'ms',
): string {
  const width = 340;
  const height = 220;
  const left = 46;
  const right = 12;
  const top = 14;
  const bottom = 34;
  const present = (['baseline', 'candidate'] as const).filter((arm) => curves[arm]?.p.length);
  const points = present.flatMap((arm) => (curves[arm] as LatencyCurve).p.filter((p) => p < 100));
  const cap = Math.max(1, ...points.map((p) => nines(p, 10))) + 0.4;
  const values = present.flatMap((arm) => (curves[arm] as LatencyCurve).ms).filter(Number.isFinite);
  const maxMs = Math.max(...values, 1e-3);
  const minPositive = Math.min(...values.filter((v) => v > 0), maxMs);
  const log = maxMs / minPositive > 20;
  const lo = log ? 10 ** Math.floor(Math.log10(minPositive)) : 0;
  const hi = log ? 10 ** Math.ceil(Math.log10(maxMs)) : niceCeil(maxMs);
  const x = (p: number) => left + (nines(p, cap) / cap) * (width - left - right);
  const y = (v: number) => {
    const f = log
      ? (Math.log10(Math.max(v, lo)) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))
      : v / hi;
    return height - bottom - f * (height - top - bottom);
  };
  let body = '';
  const yTicks = log
    ? Array.from({ length: Math.round(Math.log10(hi / lo)) + 1 }, (_, i) => lo * 10 ** i)
    : [0, hi / 4, hi / 2, (3 * hi) / 4, hi];
  for (const t of yTicks) {
    body += `<line class="grid" x1="${left}" x2="${width - right}" y1="${fixed(y(t))}" y2="${fixed(y(t))}"/>`;
    body += text(left - 4, y(t) + 4, formatNumber(t), 'tick', 'end');
  }
  for (let n = 0; n <= Math.floor(cap - 0.4); n++) {
    const p = 100 * (1 - 10 ** -n);
    body += text(x(p), height - bottom + 14, NINES_LABELS[n] ?? `${n} nines`, 'tick', 'middle');
  }
  body += text(x(100), height - bottom + 14, 'max', 'tick', 'middle');
  body += text(4, top - 4, unit, 'tick');
  for (const arm of present) {
    const c = curves[arm] as LatencyCurve;
    const d = c.p
      .map((p, i) => `${i === 0 ? 'M' : 'L'}${fixed(x(p))},${fixed(y(c.ms[i] as number))}`)
      .join('');
    body += `<path class="curve curve-${arm}" d="${d}"><title>${esc(`${labels[arm]} (${c.count} samples)`)}</title></path>`;
  }
  body += legend(labels, height - 14);
  return `<figure class="curve"><figcaption>${esc(title)}</figcaption>${svg('chart-curve', width, height, title, body)}</figure>`;
}

function niceCeil(v: number): number {
  const magnitude = 10 ** Math.floor(Math.log10(v));
  return ([1, 2, 2.5, 5, 10].find((m) => m * magnitude >= v) ?? 10) * magnitude;
}

/**
 * One bar per figure: candidate/baseline from 0, a dashed line at parity (1x), the goal as a mark,
 * coloured and labelled by verdict ("met", "MISSED"), grey when the figure has no goal.
 */
export function ratioChart(title: string, rows: SummaryRow[]): string {
  const width = 720;
  const labelWidth = 300;
  const barMax = width - labelWidth - 190;
  const rowHeight = 22;
  const shown = rows.filter((r) => Number.isFinite(r.ratio));
  const xMax = Math.min(
    5,
    Math.max(2, ...shown.map((r) => r.ratio * 1.05), ...shown.map((r) => r.ratioGoal ?? 0)),
  );
  const x = (v: number) => labelWidth + (Math.min(v, xMax) / xMax) * barMax;
  const height = shown.length * rowHeight + 30;
  let body = text(x(1), 12, '1x', 'tick', 'middle');
  body += `<line class="parity" x1="${fixed(x(1))}" x2="${fixed(x(1))}" y1="16" y2="${height}"/>`;
  shown.forEach((r, i) => {
    const y = 20 + i * rowHeight;
    const label = `${r.scenario} · ${r.figure}`;
    // Shorten the scenario before the figure: "… · p99" and "… · throughput" must stay apart.
    const figure = r.figure.length > 30 ? `${r.figure.slice(0, 29)}…` : r.figure;
    const room = 46 - figure.length - 3;
    const scenario = r.scenario.length > room ? `${r.scenario.slice(0, room - 1)}…` : r.scenario;
    body += `<text x="${labelWidth - 8}" y="${y + 12}" class="row-label" text-anchor="end">${esc(`${scenario} · ${figure}`)}<title>${esc(label)}</title></text>`;
    body += `<rect class="ratio ratio-${r.verdict}" x="${labelWidth}" y="${y + 2}" width="${fixed(Math.max(1, x(r.ratio) - labelWidth))}" height="14"><title>${esc(`${label}: ${r.ratio.toFixed(3)}x ${r.goal}`)}</title></rect>`;
    if (r.ratioGoal !== undefined)
      body += `<line class="goal goal-${r.verdict}" x1="${fixed(x(r.ratioGoal))}" x2="${fixed(x(r.ratioGoal))}" y1="${y}" y2="${y + 18}"/>`;
    const verdict = r.verdict === 'met' ? '✓ met' : r.verdict === 'missed' ? '✗ MISSED' : '';
    const over = r.ratio > xMax ? ' →' : '';
    body += text(
      labelWidth + barMax + 8,
      y + 13,
      `${r.ratio.toFixed(3)}x${over} ${r.goal ? `goal ${r.goal} ${verdict}` : `(${r.better} is better)`}`,
      `verdict verdict-${r.verdict}`,
    );
  });
  return svg('chart-ratio', width, height, title, body);
}
