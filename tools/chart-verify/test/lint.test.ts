import { readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { allCharts, type ChartName, chartsDir, helm, prepareCharts } from '../src/helm.ts';

const charts = prepareCharts();
afterAll(() => charts.remove());

function ciValues(chart: ChartName): string[] {
  const dir = join(chartsDir, chart, 'ci');
  return existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('-values.yaml')) : [];
}

describe('helm lint --strict', () => {
  for (const chart of allCharts) {
    for (const values of [undefined, ...ciValues(chart)]) {
      it(`${chart} with ${values ?? 'default values'}`, () => {
        const args = ['lint', '--strict', charts.path(chart)];
        if (values) args.push('--values', join(charts.path(chart), 'ci', values));
        const result = helm(args);
        expect(result.stdout + result.stderr).toContain('1 chart(s) linted, 0 chart(s) failed');
        expect(result.status).toBe(0);
      });
    }
  }

  it('every app chart and the umbrella have ci values to lint', () => {
    for (const chart of allCharts.filter((c) => c !== 'tether-common'))
      expect(ciValues(chart).length).toBeGreaterThan(0);
  });

  it('fails a chart with a values key its schema does not know (control: lint is not lenient)', () => {
    const result = helm(['lint', '--strict', charts.path('api'), '--set', 'replicaCont=3']);
    expect(result.status).not.toBe(0);
    expect(result.stdout + result.stderr).toMatch(/additional properties 'replicaCont' not allowed/);
  });
});
