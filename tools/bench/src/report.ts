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

export interface BenchReport {
  name: string;
  baselineLabel: string;
  candidateLabel: string;
  comparisons: Comparison[];
  environment?: Record<string, unknown>;
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
  console.table(rows);
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
  };
  writeFileSync(path, `${JSON.stringify(enriched, null, 2)}\n`);
  console.log(`wrote ${path}`);
  return path;
}
