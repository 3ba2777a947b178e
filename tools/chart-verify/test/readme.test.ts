import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { appCharts, chartsDir, workspaceRoot } from '../src/helm.ts';

const require = createRequire(import.meta.url);
const generator = join(
  dirname(require.resolve('@bitnami/readme-generator-for-helm/package.json')),
  'bin',
  'index.js',
);
const prettier = join(workspaceRoot, 'node_modules', 'prettier', 'bin', 'prettier.cjs');
const work = mkdtempSync(join(tmpdir(), 'chart-verify-readme-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** readme-generator-for-helm over a copy of the README, formatted by the repository's prettier. */
function generate(values: string, readme: string) {
  const copy = join(work, 'README.md');
  copyFileSync(readme, copy);
  const result = spawnSync(process.execPath, [generator, '--values', values, '--readme', copy], {
    encoding: 'utf8',
  });
  if (result.status === 0) execFileSync(process.execPath, [prettier, '--write', copy]);
  return { status: result.status, output: result.stdout + result.stderr, readme: readFileSync(copy, 'utf8') };
}

describe.each([...appCharts, 'tether'])('the %s chart README', (chart) => {
  it('has the parameters table generated from every @param in values.yaml, up to date', () => {
    const result = generate(join(chartsDir, chart, 'values.yaml'), join(chartsDir, chart, 'README.md'));
    expect(result.status, result.output).toBe(0);
    expect(result.readme).toBe(readFileSync(join(chartsDir, chart, 'README.md'), 'utf8'));
  });
});

describe('documentation checks (controls)', () => {
  it('a value without @param fails the generator', () => {
    const values = join(work, 'values.yaml');
    writeFileSync(
      values,
      `${readFileSync(join(chartsDir, 'api', 'values.yaml'), 'utf8')}\nundocumented: 1\n`,
    );
    const result = generate(values, join(chartsDir, 'api', 'README.md'));
    expect(result.status).not.toBe(0);
    expect(result.output).toContain('Missing metadata for key: undocumented');
  });

  it('a changed default makes the committed README stale', () => {
    const values = join(work, 'values.yaml');
    writeFileSync(
      values,
      readFileSync(join(chartsDir, 'api', 'values.yaml'), 'utf8').replace(
        'replicaCount: 2',
        'replicaCount: 3',
      ),
    );
    const result = generate(values, join(chartsDir, 'api', 'README.md'));
    expect(result.readme).not.toBe(readFileSync(join(chartsDir, 'api', 'README.md'), 'utf8'));
  });

  it('the three app charts share one values.schema.json, and every chart has one that refuses unknown keys', () => {
    const schemas = appCharts.map((c) => readFileSync(join(chartsDir, c, 'values.schema.json'), 'utf8'));
    expect(new Set(schemas).size).toBe(1);
    for (const chart of ['tether-common', ...appCharts, 'tether']) {
      const schema = JSON.parse(readFileSync(join(chartsDir, chart, 'values.schema.json'), 'utf8'));
      expect(schema.additionalProperties, chart).toBe(false);
    }
  });
});
