/**
 * Benchmark results: every benchmark compares a candidate with a baseline measured in the same run,
 * prints one table and writes `.tether/bench/<name>.json`. Ratios, not absolute numbers, are the
 * result: absolute numbers depend on the machine, ratios on our code.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Measurement {
  /** ops/s (or requests/s) over the measured window */
  throughput: number;
  /** latency percentiles in ms */
  p50Ms: number;
  p99Ms: number;
  errors: number;
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

/**
 * `BENCH_SCALE=quick` (set by the test that runs every benchmark inside `npm test`) asks a benchmark
 * for tiny sizes: it must still run every row and write its report, but its numbers mean nothing.
 */
export function benchScale(): 'quick' | 'full' {
  return process.env['BENCH_SCALE'] === 'quick' ? 'quick' : 'full';
}

const workspaceRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

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
  const dir = join(workspaceRoot, '.tether', 'bench');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${report.name}.json`);
  const enriched = {
    ...report,
    generatedAt: new Date().toISOString(),
    node: process.version,
    comparisons: report.comparisons.map((c) => ({
      ...c,
      throughputRatio: ratio(c.candidate.throughput, c.baseline.throughput),
      p99Ratio: ratio(c.candidate.p99Ms, c.baseline.p99Ms),
    })),
    metrics: metrics.map((m) => ({ ...m, ratio: ratio(m.candidate, m.baseline), met: metricMet(m) })),
  };
  writeFileSync(path, `${JSON.stringify(enriched, null, 2)}\n`);
  console.log(`wrote ${path}`);
  return path;
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
