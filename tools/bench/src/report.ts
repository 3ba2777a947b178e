/**
 * Benchmark results: every benchmark compares a candidate with a baseline measured in the same run,
 * prints one table and writes `<benchDir()>/<name>.json` (`.tether/bench/` by default), which the
 * HTML report (html.ts) is drawn from. Ratios, not absolute numbers, are the result: absolute
 * numbers depend on the machine, ratios on our code.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type LatencyCurve, latencyCurve } from './curve.ts';
import { hostEnvironment } from './environment.ts';

export { benchScale } from './scale.ts';

export interface Measurement {
  /** ops/s (or requests/s) over the measured window */
  throughput: number;
  /** latency percentiles in ms */
  p50Ms: number;
  p99Ms: number;
  errors: number;
  /**
   * Raw latencies in ms (optional). The JSON keeps a percentile curve of them (`curve`), not the
   * samples, so a million requests still make a small file; the HTML draws the curve.
   */
  samples?: number[];
}

export interface Comparison {
  scenario: string;
  baseline: Measurement;
  candidate: Measurement;
  /** candidate/baseline throughput; goal e.g. >= 0.95 */
  throughputGoal?: number;
  /** candidate/baseline p99; goal e.g. <= 1.10 */
  p99Goal?: number;
}

/**
 * A comparison of one figure that is not a throughput/latency pair (memory per connection, fan-out
 * p99, enqueue-to-start p50, CPU µs per request, …), candidate against the same-run baseline.
 */
export interface MetricComparison {
  scenario: string;
  /** what is measured, e.g. "RSS per idle connection" */
  metric: string;
  /** e.g. "KiB", "ms", "µs/req" */
  unit: string;
  baseline: number;
  candidate: number;
  /** which direction is better; decides how the goal is read */
  better: 'lower' | 'higher';
  /** goal on candidate/baseline (e.g. 1.25 with better 'lower' means ratio <= 1.25) */
  ratioGoal?: number;
  /** goal on the candidate's absolute value (e.g. 100 ms p99 with better 'lower') */
  absoluteGoal?: number;
  /** raw samples (latencies in ms, …) the HTML report may plot as a distribution */
  samples?: { baseline?: number[]; candidate?: number[] };
}

export interface BenchReport {
  name: string;
  baselineLabel: string;
  candidateLabel: string;
  comparisons: Comparison[];
  /** other figures, printed in a second table and written to the JSON as `metrics` */
  metrics?: MetricComparison[];
  environment?: Record<string, unknown>;
}

const workspaceRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/**
 * Where reports go: `BENCH_DIR` when set (the quick run inside `npm test` writes to a temp dir, so
 * it never overwrites a full run's results), else `<workspace>/.tether/bench`.
 */
export function benchDir(): string {
  const dir = process.env['BENCH_DIR'];
  return dir ? resolve(dir) : join(workspaceRoot, '.tether', 'bench');
}

function writtenCurves(samples: NonNullable<MetricComparison['samples']>): {
  baseline?: LatencyCurve;
  candidate?: LatencyCurve;
} {
  return {
    ...(samples.baseline?.length ? { baseline: latencyCurve(samples.baseline) } : {}),
    ...(samples.candidate?.length ? { candidate: latencyCurve(samples.candidate) } : {}),
  };
}

/** A measurement as written to the JSON: its samples folded into a percentile curve. */
export type WrittenMeasurement = Omit<Measurement, 'samples'> & { curve?: LatencyCurve };

function written(m: Measurement): WrittenMeasurement {
  const { samples, ...rest } = m;
  return samples && samples.length > 0 ? { ...rest, curve: latencyCurve(samples) } : rest;
}

/** Percentile (0..100) of an unsorted sample, nearest-rank. */
export function percentile(samples: number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] as number;
}

function ratio(candidate: number, baseline: number): number {
  return baseline === 0 ? Number.NaN : candidate / baseline;
}

/** Print the table and write the JSON; returns the path written. */
export function writeReport(report: BenchReport): string {
  const rows = report.comparisons.map((c) => {
    const tput = ratio(c.candidate.throughput, c.baseline.throughput);
    const p99 = ratio(c.candidate.p99Ms, c.baseline.p99Ms);
    return {
      scenario: c.scenario,
      [`${report.baselineLabel} ops/s`]: Math.round(c.baseline.throughput),
      [`${report.candidateLabel} ops/s`]: Math.round(c.candidate.throughput),
      'throughput ratio': `${tput.toFixed(3)}x${c.throughputGoal ? (tput >= c.throughputGoal ? ' ok' : ` (goal >= ${c.throughputGoal})`) : ''}`,
      [`${report.baselineLabel} p99 ms`]: Number(c.baseline.p99Ms.toFixed(2)),
      [`${report.candidateLabel} p99 ms`]: Number(c.candidate.p99Ms.toFixed(2)),
      'p99 ratio': `${p99.toFixed(3)}x${c.p99Goal ? (p99 <= c.p99Goal ? ' ok' : ` (goal <= ${c.p99Goal})`) : ''}`,
      errors: c.baseline.errors + c.candidate.errors,
    };
  });
  console.log(`\n${report.name}: ${report.candidateLabel} vs ${report.baselineLabel} (same run)`);
  if (rows.length > 0) console.table(rows);
  const metrics = report.metrics ?? [];
  if (metrics.length > 0) console.table(metrics.map(metricRow));
  const dir = benchDir();
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${report.name}.json`);
  const enriched = {
    ...report,
    generatedAt: new Date().toISOString(),
    node: process.version,
    host: hostEnvironment(),
    comparisons: report.comparisons.map((c) => ({
      ...c,
      baseline: written(c.baseline),
      candidate: written(c.candidate),
      throughputRatio: ratio(c.candidate.throughput, c.baseline.throughput),
      p99Ratio: ratio(c.candidate.p99Ms, c.baseline.p99Ms),
      met: comparisonMet(c),
    })),
    metrics: metrics.map(({ samples, ...m }) => ({
      ...m,
      ...(samples ? { curves: writtenCurves(samples) } : {}),
      ratio: ratio(m.candidate, m.baseline),
      met: metricMet(m),
    })),
  };
  writeFileSync(path, `${JSON.stringify(enriched, null, 2)}\n`);
  console.log(`wrote ${path}`);
  return path;
}

/** Whether a comparison meets its throughput and p99 goals (true when it has none). */
export function comparisonMet(c: Comparison): boolean {
  if (
    c.throughputGoal !== undefined &&
    !(ratio(c.candidate.throughput, c.baseline.throughput) >= c.throughputGoal)
  )
    return false;
  if (c.p99Goal !== undefined && !(ratio(c.candidate.p99Ms, c.baseline.p99Ms) <= c.p99Goal)) return false;
  return true;
}

/** Whether a metric meets its goals (true when it has none). */
export function metricMet(m: MetricComparison): boolean {
  const r = ratio(m.candidate, m.baseline);
  const within = (value: number, goal: number): boolean =>
    m.better === 'lower' ? value <= goal : value >= goal;
  if (m.ratioGoal !== undefined && !within(r, m.ratioGoal)) return false;
  if (m.absoluteGoal !== undefined && !within(m.candidate, m.absoluteGoal)) return false;
  return true;
}

function metricRow(m: MetricComparison): Record<string, string | number> {
  const r = ratio(m.candidate, m.baseline);
  const goals = [
    m.ratioGoal !== undefined ? `ratio ${m.better === 'lower' ? '<=' : '>='} ${m.ratioGoal}` : '',
    m.absoluteGoal !== undefined ? `${m.better === 'lower' ? '<=' : '>='} ${m.absoluteGoal} ${m.unit}` : '',
  ].filter(Boolean);
  return {
    scenario: m.scenario,
    metric: `${m.metric} (${m.unit})`,
    baseline: Number(m.baseline.toFixed(2)),
    candidate: Number(m.candidate.toFixed(2)),
    ratio: `${r.toFixed(3)}x`,
    goal: goals.length === 0 ? '-' : `${goals.join(', ')}${metricMet(m) ? ' ok' : ' MISSED'}`,
  };
}
