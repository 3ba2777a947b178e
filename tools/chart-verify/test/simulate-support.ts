/**
 * Shared by the simulate tests: the short probe and lifecycle timings they render the charts with,
 * running `chart-verify simulate` in-process, and the "broken" variant of a rendered chart.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { prepareCharts, render, type ChartName } from '../src/helm.ts';
import type { Container, Deployment } from '../src/manifests.ts';
import { runSimulate, type SimulationReport } from '../src/simulate/index.ts';

/**
 * Kubernetes' smallest probe periods (1 s) and a 2 s preStop, so a test run takes seconds per pod:
 * the budget still holds (grace = 2 s + 0 + 3 s + 3 s) and readiness period x failures (1 s x 2)
 * fits inside the preStop window, as the chart's defaults do at 10 s.
 */
export const shortTimings = [
  'lifecycle.preStopSleepSeconds=2',
  'lifecycle.shutdownTimeoutMs=3000',
  'lifecycle.marginSeconds=3',
  'probes.startup.periodSeconds=1',
  'probes.startup.failureThreshold=120',
  'probes.readiness.periodSeconds=1',
  'probes.liveness.periodSeconds=2',
];

export const setArgs = shortTimings.flatMap((entry) => ['--set', entry]);

/** Runs the CLI entry in-process; resolves with its exit code and the report it wrote. */
export async function simulate(
  args: string[],
): Promise<{ code: number; report: SimulationReport; out: string }> {
  const out = mkdtempSync(join(tmpdir(), 'simulate-test-'));
  const code = await runSimulate([...args, '--out', out]);
  const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as SimulationReport;
  return { code, report, out };
}

/**
 * The chart rendered with the same values, then broken the way the control needs: no preStop and
 * a 1 s grace period (the chart itself refuses such values, so the rendered Deployment is edited).
 */
export function brokenManifest(chart: ChartName): string {
  const charts = prepareCharts();
  try {
    const set = Object.fromEntries(shortTimings.map((entry) => entry.split('=') as [string, string]));
    const manifests = render(charts.path(chart), { set });
    for (const m of manifests) {
      if (m.kind !== 'Deployment') continue;
      const spec = (m as Deployment).spec.template.spec;
      spec.terminationGracePeriodSeconds = 1;
      for (const c of spec.containers as Container[]) delete c.lifecycle;
    }
    const file = join(mkdtempSync(join(tmpdir(), 'simulate-broken-')), `${chart}.yaml`);
    writeFileSync(file, manifests.map((m) => stringify(m)).join('---\n'));
    return file;
  } finally {
    charts.remove();
  }
}
