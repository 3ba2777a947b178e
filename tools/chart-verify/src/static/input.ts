/**
 * Where static's objects come from: a chart rendered by `helm template`, manifest files, every
 * YAML/JSON file under a directory, or stdin (`-`).
 */
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { parse } from 'yaml';
import { ensureHelm, helm, templateArgs, type TemplateOptions } from '../helm.ts';
import { loadObjects, type K8sObject } from './objects.ts';

/** Bad input (a path that is not there, a chart helm refuses): the message says which and why. */
export class InputError extends Error {
  readonly code = 'TETHER_CHART_VERIFY_INPUT';
}

export function isChart(path: string): boolean {
  return existsSync(join(path, 'Chart.yaml'));
}

/** Objects from every input: charts are rendered with `options`, the rest read as manifests. */
export function loadInputs(inputs: string[], options: TemplateOptions, stdin: () => string): K8sObject[] {
  return inputs.flatMap((input) => {
    if (input === '-') return loadObjects(stdin(), 'stdin');
    if (!existsSync(input)) throw new InputError(`${input}: no such file or directory`);
    if (isChart(input)) return loadObjects(renderChart(input, options), input);
    if (statSync(input).isDirectory())
      return manifestFiles(input).flatMap((file) => loadObjects(readFileSync(file, 'utf8'), file));
    return loadObjects(readFileSync(input, 'utf8'), input);
  });
}

function manifestFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((name) => /\.(ya?ml|json)$/.test(name))
    .sort()
    .map((name) => join(dir, name));
}

/**
 * `helm template` of a chart. A chart whose dependencies are not built yet is rendered from a
 * temporary copy of it and of every `file://` chart it depends on (at the same relative places),
 * where `helm dependency build` runs: the chart you pointed at is never written to.
 */
export function renderChart(chartDir: string, options: TemplateOptions): string {
  if (chartMeta(chartDir).type === 'library')
    throw new InputError(
      `${chartDir} is a library chart: it renders nothing by itself; check a chart that depends on it`,
    );
  ensureHelm();
  const charts = fileDependencyClosure(resolve(chartDir));
  let work: string | undefined;
  let target = resolve(chartDir);
  try {
    if (!dependenciesBuilt(target)) {
      work = mkdtempSync(join(tmpdir(), 'chart-verify-static-'));
      const root = commonRoot(charts);
      for (const chart of charts)
        cpSync(chart, join(work, relative(root, chart)), {
          recursive: true,
          filter: (src) => !src.endsWith(`${sep}charts`) || src === chart,
        });
      for (const chart of charts) {
        const copy = join(work, relative(root, chart));
        if (dependenciesOf(copy).length === 0) continue;
        const built = helm(['dependency', 'build', copy]);
        if (built.status !== 0)
          throw new InputError(`helm dependency build ${chart} failed: ${built.stderr.trim()}`);
      }
      target = join(work, relative(root, target));
    }
    const result = helm(templateArgs(target, options));
    if (result.status !== 0)
      throw new InputError(`helm template ${chartDir} failed: ${result.stderr.trim()}`);
    return result.stdout;
  } finally {
    if (work) rmSync(work, { recursive: true, force: true });
  }
}

interface Dependency {
  name: string;
  version?: string;
  repository?: string;
}

/** Every dependency already in the chart's charts/ folder (as `helm dependency build` leaves it). */
function dependenciesBuilt(chartDir: string): boolean {
  return (
    chartMeta(chartDir).dependencies?.every((dep) => {
      const version = dep.version ?? '';
      return (
        existsSync(join(chartDir, 'charts', `${dep.name}-${version}.tgz`)) ||
        existsSync(join(chartDir, 'charts', dep.name))
      );
    }) ?? true
  );
}

function chartMeta(chartDir: string): { type?: string; dependencies?: Dependency[] } {
  return (parse(readFileSync(join(chartDir, 'Chart.yaml'), 'utf8')) as { type?: string } | null) ?? {};
}

function dependenciesOf(chartDir: string): Dependency[] {
  return chartMeta(chartDir).dependencies ?? [];
}

/** Every chart `chartDir` reaches through `file://` dependencies, each after its own dependencies. */
function fileDependencyClosure(
  chartDir: string,
  order: string[] = [],
  visiting = new Set<string>(),
): string[] {
  if (order.includes(chartDir) || visiting.has(chartDir)) return order;
  visiting.add(chartDir);
  for (const dep of dependenciesOf(chartDir))
    if (dep.repository?.startsWith('file://'))
      fileDependencyClosure(resolve(chartDir, dep.repository.slice('file://'.length)), order, visiting);
  order.push(chartDir);
  return order;
}

function commonRoot(paths: string[]): string {
  let root = dirname(paths[0] as string);
  while (!paths.every((p) => p.startsWith(root + sep))) root = dirname(root);
  return root;
}
