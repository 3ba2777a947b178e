import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { percentile, writeReport } from '../src/index.ts';

describe('percentile', () => {
  it('is nearest-rank on unsorted samples', () => {
    const samples = [5, 1, 4, 2, 3, 10, 9, 8, 7, 6];
    expect(percentile(samples, 50)).toBe(5);
    expect(percentile(samples, 99)).toBe(10);
    expect(percentile(samples, 0)).toBe(1);
    expect(percentile([], 50)).toBeNaN();
  });
});

describe('writeReport', () => {
  let path: string | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'bench-report-'));
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
    vi.unstubAllEnvs();
    vi.restoreAllMocks();
  });

  it('prints one table row per scenario with ratios against the same-run baseline and writes JSON', () => {
    vi.stubEnv('BENCH_DIR', dir);
    const table = vi.spyOn(console, 'table').mockImplementation(() => {});
    vi.spyOn(console, 'log').mockImplementation(() => {});
    path = writeReport({
      name: 'report-selftest',
      baselineLabel: 'raw',
      candidateLabel: 'tether',
      comparisons: [
        {
          scenario: 'SELECT 1',
          baseline: { throughput: 1000, p50Ms: 1, p99Ms: 2, errors: 0 },
          candidate: { throughput: 960, p50Ms: 1, p99Ms: 2.4, errors: 0 },
          throughputGoal: 0.95,
          p99Goal: 1.1,
        },
      ],
    });
    const rows = table.mock.calls[0]?.[0] as Record<string, unknown>[];
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      scenario: 'SELECT 1',
      'throughput ratio': '0.960x ok',
      'p99 ratio': '1.200x (goal <= 1.1)',
    });
    expect(path).toBe(join(dir, 'report-selftest.json'));
    expect(existsSync(path)).toBe(true);
    const json = JSON.parse(readFileSync(path, 'utf8'));
    expect(json.comparisons[0].throughputRatio).toBeCloseTo(0.96);
    expect(json.comparisons[0].p99Ratio).toBeCloseTo(1.2);
    expect(json.node).toBe(process.version);
  });
});
