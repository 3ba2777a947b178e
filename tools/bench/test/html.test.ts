import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { latencyCurve } from '../src/curve.ts';
import { writeHtmlReport } from '../src/html.ts';
import { writeReport } from '../src/report.ts';
import { loadReports, summaryRows } from '../src/results.ts';

const count = (html: string, pattern: RegExp) => (html.match(pattern) ?? []).length;

describe('latencyCurve', () => {
  it('keeps the percentiles the sample resolves, nearest rank, ending at the maximum', () => {
    const samples = Array.from({ length: 1000 }, (_, i) => 1000 - i); // 1..1000, unsorted
    const curve = latencyCurve(samples);
    expect(curve.count).toBe(1000);
    expect(curve.p[0]).toBe(0);
    expect(curve.ms[0]).toBe(1);
    expect(curve.p.at(-1)).toBe(100);
    expect(curve.ms.at(-1)).toBe(1000);
    expect(curve.ms[curve.p.indexOf(90)]).toBe(900);
    expect(curve.ms[curve.p.indexOf(99)]).toBe(990);
    expect(curve.ms[curve.p.indexOf(99.9)]).toBe(999);
    // 99.99 needs 10,000 samples: not invented from 1,000.
    expect(curve.p.filter((p) => p > 99.9 && p < 100)).toEqual([]);
  });
});

describe('the HTML report', () => {
  let dir: string;
  let html: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'bench-html-'));
    vi.stubEnv('BENCH_DIR', dir);
    vi.spyOn(console, 'log').mockImplementation(() => {});
    vi.spyOn(console, 'table').mockImplementation(() => {});
    const fast = Array.from({ length: 500 }, (_, i) => 1 + (i % 50) / 10);
    writeReport({
      name: 'alpha',
      baselineLabel: 'raw',
      candidateLabel: 'tether',
      comparisons: [
        {
          scenario: 'GET <one>',
          baseline: { throughput: 1000, p50Ms: 1, p99Ms: 2, errors: 0, samples: fast },
          candidate: {
            throughput: 960,
            p50Ms: 1.1,
            p99Ms: 2.6,
            errors: 0,
            samples: fast.map((v) => v * 1.2),
          },
          throughputGoal: 0.95,
          p99Goal: 1.1,
        },
      ],
    });
    writeReport({
      name: 'beta',
      baselineLabel: 'raw ws',
      candidateLabel: 'gateway',
      comparisons: [],
      metrics: [
        {
          scenario: 'fan-out',
          metric: 'p99',
          unit: 'ms',
          baseline: 40,
          candidate: 60,
          better: 'lower',
          absoluteGoal: 100,
          samples: { baseline: [10, 20, 40], candidate: [15, 30, 60] },
        },
        {
          scenario: 'idle',
          metric: 'RSS per connection',
          unit: 'KiB',
          baseline: 4,
          candidate: 6,
          better: 'lower',
          ratioGoal: 1.25,
        },
      ],
    });
    writeFileSync(join(dir, 'broken.json'), '{ not json');
    writeHtmlReport(dir);
    html = readFileSync(join(dir, 'index.html'), 'utf8');
  });
  afterAll(() => {
    vi.unstubAllEnvs();
    vi.restoreAllMocks();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps a percentile curve instead of raw samples in the JSON', () => {
    const json = JSON.parse(readFileSync(join(dir, 'alpha.json'), 'utf8'));
    expect(json.comparisons[0].candidate.samples).toBeUndefined();
    expect(json.comparisons[0].candidate.curve.count).toBe(500);
    expect(json.host.cpus).toBeGreaterThan(0);
    expect(json.host.loadavg).toHaveLength(3);
  });

  it('judges every figure against its goal: met, missed, or no goal', () => {
    const { reports, unreadable } = loadReports(dir);
    expect(unreadable).toEqual([expect.stringContaining('broken.json')]);
    const rows = reports.flatMap(summaryRows);
    const verdicts = rows.map((r) => `${r.bench}/${r.scenario}/${r.figure}: ${r.verdict}`);
    expect(verdicts).toEqual([
      'alpha/GET <one>/throughput: met',
      'alpha/GET <one>/p99: missed',
      'beta/fan-out/p99: met',
      'beta/idle/RSS per connection: missed',
    ]);
  });

  it('draws bars, curves and ratio marks per benchmark, escaped, with nothing fetched from the network', () => {
    for (const name of ['alpha', 'beta']) expect(html).toContain(`data-bench="${name}"`);
    // alpha: a throughput pair, p50 + p99 pairs; beta: two metric pairs.
    expect(count(html, /class="bar bar-baseline"/g)).toBe(1 + 2 + 2);
    expect(count(html, /class="bar bar-candidate"/g)).toBe(5);
    expect(count(html, /class="curve curve-candidate"/g)).toBe(2);
    expect(count(html, /class="ratio ratio-met"/g)).toBe(2);
    expect(count(html, /class="ratio ratio-missed"/g)).toBe(2);
    expect(html).toContain('GET &lt;one&gt;');
    expect(html).not.toContain('GET <one>');
    expect(html).toContain('Unreadable report files');
    expect(html.replaceAll('xmlns="http://www.w3.org/2000/svg"', '')).not.toMatch(
      /https?:\/\/|<script|<link/,
    );
  });
});
