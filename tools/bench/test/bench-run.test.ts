/**
 * `npm run bench` at BENCH_SCALE=quick, the way a user runs it: every benchmark in a fresh process,
 * each writing its JSON, then one HTML page opened in a real Chromium. Asserts that every benchmark
 * finished (a benchmark that ignores benchScale() overruns the quick time limit and is named), wrote
 * its rows without errors, and that the page draws its charts. Never asserts a timing or a ratio: at
 * this scale the numbers mean nothing.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromiumLaunchOptions } from '@tether/devstack';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WrittenReport } from '../src/results.ts';
import type { RunRecord } from '../src/runner.ts';

const src = join(dirname(fileURLToPath(import.meta.url)), '..', 'src');
const workspaceRoot = join(src, '..', '..', '..');
const benches = readdirSync(src)
  .filter((f) => f.endsWith('.bench.ts'))
  .map((f) => f.slice(0, -'.bench.ts'.length))
  .sort();

describe('npm run bench at BENCH_SCALE=quick', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tether-bench-quick-'));
  let output = '';
  let exitCode: number | null = null;
  let run: RunRecord;
  let browser: Browser;
  let page: Page;
  const requests: string[] = [];
  const written = () => benches.filter((name) => existsSync(join(dir, `${name}.json`)));

  beforeAll(async () => {
    const child = spawn('npm', ['run', 'bench'], {
      cwd: workspaceRoot,
      env: { ...process.env, BENCH_SCALE: 'quick', BENCH_DIR: dir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    [exitCode] = (await once(child, 'exit')) as [number | null];
    run = JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8')) as RunRecord;
    browser = await chromium.launch(chromiumLaunchOptions);
    page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    page.on('request', (request) => {
      if (!request.url().startsWith('file:')) requests.push(request.url());
    });
    await page.goto(`file://${join(dir, 'index.html')}`);
  }, 900_000);

  afterAll(async () => {
    await browser?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs every benchmark to completion within the quick time limit', () => {
    const failures = run.benches
      .filter((b) => b.status !== 'ok')
      .map((b) => `${b.name}: ${b.status}: ${b.message}`);
    expect(failures, `benchmarks that failed at BENCH_SCALE=quick:\n${failures.join('\n')}`).toEqual([]);
    expect(run.benches.map((b) => b.name)).toEqual(benches);
    expect(run.scale).toBe('quick');
    expect(exitCode, output.slice(-4_000)).toBe(0);
  });

  it.each(benches)('%s wrote its rows, every figure a number, no errors', (name) => {
    const report = JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8')) as WrittenReport;
    expect(report.name).toBe(name);
    expect(report.host?.scale).toBe('quick');
    expect(report.comparisons.length + report.metrics.length).toBeGreaterThan(0);
    for (const c of report.comparisons) {
      for (const m of [c.baseline, c.candidate]) {
        expect({ scenario: c.scenario, errors: m.errors }).toEqual({ scenario: c.scenario, errors: 0 });
        expect(m.throughput, c.scenario).toBeGreaterThan(0);
        expect(Number.isFinite(m.p50Ms) && Number.isFinite(m.p99Ms), c.scenario).toBe(true);
      }
    }
    for (const m of report.metrics) {
      expect(Number.isFinite(m.baseline) && Number.isFinite(m.candidate), `${m.scenario} ${m.metric}`).toBe(
        true,
      );
    }
  });

  it('prints one summary table across the benchmarks and names the page', () => {
    const summary = output.slice(output.indexOf('Summary: every figure'));
    for (const name of written()) expect(summary).toContain(`'${name}'`);
    expect(summary).toContain(`report: ${join(dir, 'index.html')}`);
  });

  it('redraws the same page from the JSON alone with --html-only', async () => {
    const before = readFileSync(join(dir, 'index.html'), 'utf8');
    rmSync(join(dir, 'index.html'));
    const child = spawn('npm', ['run', 'bench', '--', '--html-only'], {
      cwd: workspaceRoot,
      env: { ...process.env, BENCH_SCALE: 'quick', BENCH_DIR: dir },
      stdio: 'ignore',
    });
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).toBe(0);
    const after = readFileSync(join(dir, 'index.html'), 'utf8');
    // Identical but for the times the page was generated and the load average it shows.
    const stable = (html: string) =>
      html.replace(/Page generated [^<]*/, '').replace(/load average now[^]*?<\/tr>/, '');
    expect(stable(after)).toBe(stable(before));
  });

  it('draws the charts of every benchmark in Chromium, with nothing loaded from the network', async () => {
    const shot = join(dir, 'report.png');
    // The first screen (environment, run, summary): a full-page shot of every chart can take longer
    // than a minute on a busy 2-core machine, and the charts are checked element by element below.
    await page.screenshot({ path: shot, timeout: 120_000 });
    expect(statSync(shot).size).toBeGreaterThan(10_000);
    expect(requests).toEqual([]);
    // Missing reports fail the tests above, by name; here every report that exists is drawn.
    expect(written().length).toBeGreaterThan(0);
    for (const name of written()) {
      const report = JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8')) as WrittenReport;
      const section = page.locator(`section.bench[data-bench="${name}"]`);
      await expect(section.count()).resolves.toBe(1);
      const figures = report.comparisons.length * 2 + report.metrics.length;
      await expect(section.locator('svg.chart-ratio rect.ratio').count()).resolves.toBe(figures);
      const pairs = report.comparisons.length * 3 + report.metrics.length;
      await expect(section.locator('svg.chart-bars rect.bar-baseline').count()).resolves.toBe(pairs);
      await expect(section.locator('svg.chart-bars rect.bar-candidate').count()).resolves.toBe(pairs);
      const withCurves =
        report.comparisons.filter((c) => c.candidate.curve).length +
        report.metrics.filter((m) => m.curves).length;
      await expect(section.locator('svg.chart-curve path.curve-candidate').count()).resolves.toBe(withCurves);
      // Drawn, not just present: the first bar has a size on screen.
      const box = await section.locator('svg.chart-bars rect.bar-candidate').first().boundingBox();
      expect(box?.width).toBeGreaterThan(0);
    }
  }, 240_000);
});
