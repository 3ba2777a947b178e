/**
 * Reading the reports back: every `<benchDir>/<name>.json` that writeReport wrote, flattened into
 * one row per figure (throughput, p99, each metric) with its ratio, goal and verdict. The final
 * console table and the HTML report are both drawn from these rows, so they never disagree.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LatencyCurve } from './curve.ts';
import type { BenchReport, Comparison, MetricComparison, WrittenMeasurement } from './report.ts';
import type { HostEnvironment } from './environment.ts';

/** The bench run's own record (cli.ts), kept beside the reports. */
export const RUN_FILE = 'run.json';

/** A comparison as written: measurements with curves, ratios (null when not a number). */
export interface WrittenComparison extends Omit<Comparison, 'baseline' | 'candidate'> {
  baseline: WrittenMeasurement;
  candidate: WrittenMeasurement;
  throughputRatio: number | null;
  p99Ratio: number | null;
}

/** A metric row as written: its samples folded into curves. */
export interface WrittenMetric extends Omit<MetricComparison, 'samples'> {
  curves?: { baseline?: LatencyCurve; candidate?: LatencyCurve };
  ratio: number | null;
  met: boolean;
}

/** One `<name>.json`. */
export interface WrittenReport extends Omit<BenchReport, 'comparisons' | 'metrics'> {
  comparisons: WrittenComparison[];
  metrics: WrittenMetric[];
  generatedAt: string;
  node: string;
  host?: HostEnvironment;
}

/** One figure of one benchmark, compared and judged. */
export interface SummaryRow {
  bench: string;
  scenario: string;
  /** "throughput", "p99" or a metric's name */
  figure: string;
  unit: string;
  baseline: number;
  candidate: number;
  ratio: number;
  better: 'lower' | 'higher';
  /** the goal on the ratio, if any (drawn as a mark on the ratio chart) */
  ratioGoal?: number;
  /** e.g. ">= 0.95x" or "<= 100 ms"; empty when the figure has no goal */
  goal: string;
  /** 'none' when there is no goal */
  verdict: 'met' | 'missed' | 'none';
  errors: number;
}

/** Reports in `dir` (sorted by name), and the files that could not be read as one. */
export function loadReports(dir: string): { reports: WrittenReport[]; unreadable: string[] } {
  const reports: WrittenReport[] = [];
  const unreadable: string[] = [];
  let files: string[] = [];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.json') && f !== RUN_FILE);
  } catch {
    return { reports, unreadable };
  }
  for (const file of files.sort()) {
    try {
      const json = JSON.parse(readFileSync(join(dir, file), 'utf8')) as Partial<WrittenReport>;
      if (typeof json.name !== 'string' || !Array.isArray(json.comparisons))
        throw new Error('not a benchmark report');
      reports.push({ ...(json as WrittenReport), metrics: json.metrics ?? [] });
    } catch (error) {
      unreadable.push(`${file}: ${(error as Error).message}`);
    }
  }
  return { reports, unreadable };
}

const num = (v: number | null | undefined): number => (typeof v === 'number' ? v : Number.NaN);
const ratioOf = (candidate: number, baseline: number): number =>
  baseline === 0 ? Number.NaN : candidate / baseline;

function judged(value: number, goal: number | undefined, better: 'lower' | 'higher'): SummaryRow['verdict'] {
  if (goal === undefined) return 'none';
  return (better === 'lower' ? value <= goal : value >= goal) ? 'met' : 'missed';
}

/** Every figure of a report as a summary row, in the report's order. */
export function summaryRows(report: WrittenReport): SummaryRow[] {
  const rows: SummaryRow[] = [];
  for (const c of report.comparisons) {
    const errors = num(c.baseline.errors) + num(c.candidate.errors);
    const tput = ratioOf(num(c.candidate.throughput), num(c.baseline.throughput));
    rows.push({
      bench: report.name,
      scenario: c.scenario,
      figure: 'throughput',
      unit: 'ops/s',
      baseline: num(c.baseline.throughput),
      candidate: num(c.candidate.throughput),
      ratio: tput,
      better: 'higher',
      ...(c.throughputGoal === undefined ? {} : { ratioGoal: c.throughputGoal }),
      goal: c.throughputGoal === undefined ? '' : `>= ${c.throughputGoal}x`,
      verdict: judged(tput, c.throughputGoal, 'higher'),
      errors,
    });
    const p99 = ratioOf(num(c.candidate.p99Ms), num(c.baseline.p99Ms));
    rows.push({
      bench: report.name,
      scenario: c.scenario,
      figure: 'p99',
      unit: 'ms',
      baseline: num(c.baseline.p99Ms),
      candidate: num(c.candidate.p99Ms),
      ratio: p99,
      better: 'lower',
      ...(c.p99Goal === undefined ? {} : { ratioGoal: c.p99Goal }),
      goal: c.p99Goal === undefined ? '' : `<= ${c.p99Goal}x`,
      verdict: judged(p99, c.p99Goal, 'lower'),
      errors,
    });
  }
  for (const m of report.metrics) {
    const goals = [
      m.ratioGoal === undefined ? '' : `${m.better === 'lower' ? '<=' : '>='} ${m.ratioGoal}x`,
      m.absoluteGoal === undefined ? '' : `${m.better === 'lower' ? '<=' : '>='} ${m.absoluteGoal} ${m.unit}`,
    ].filter(Boolean);
    rows.push({
      bench: report.name,
      scenario: m.scenario,
      figure: m.metric,
      unit: m.unit,
      baseline: num(m.baseline),
      candidate: num(m.candidate),
      ratio: ratioOf(num(m.candidate), num(m.baseline)),
      better: m.better,
      ...(m.ratioGoal === undefined ? {} : { ratioGoal: m.ratioGoal }),
      goal: goals.join(', '),
      verdict: goals.length === 0 ? 'none' : m.met ? 'met' : 'missed',
      errors: 0,
    });
  }
  return rows;
}

/** Compact rounding for tables: 3 significant digits below 100, whole numbers above. */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return '-';
  if (Math.abs(value) >= 100) return String(Math.round(value));
  return String(Number(value.toPrecision(3)));
}

/** The table printed at the end of `npm run bench`, one line per figure across all benchmarks. */
export function consoleSummary(rows: SummaryRow[]): Record<string, string | number>[] {
  return rows.map((r) => ({
    bench: r.bench,
    scenario: r.scenario,
    figure: `${r.figure} (${r.unit})`,
    baseline: formatNumber(r.baseline),
    candidate: formatNumber(r.candidate),
    ratio: Number.isFinite(r.ratio) ? `${r.ratio.toFixed(3)}x` : '-',
    goal: r.goal || '-',
    verdict: r.verdict === 'none' ? '' : r.verdict === 'met' ? 'ok' : 'MISSED',
    errors: r.errors,
  }));
}
