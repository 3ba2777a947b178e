/**
 * The real helm binary, on copies of the charts: `helm dependency build` writes the packaged
 * file:// dependencies into each chart's charts/ folder, which must not land in the repository.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { parseAllDocuments } from 'yaml';

export const workspaceRoot = join(import.meta.dirname, '..', '..', '..');
export const chartsDir = join(workspaceRoot, 'charts');
/** App charts first: the umbrella packages them, with their own dependencies, when it builds. */
export const appCharts = ['api', 'worker', 'ws-gateway'] as const;
export const allCharts = ['tether-common', ...appCharts, 'tether'] as const;
export type ChartName = (typeof allCharts)[number];

const env = {
  ...process.env,
  PATH: `${join(workspaceRoot, '.cache', 'bin')}${delimiter}${process.env.PATH}`,
};

/** helm on PATH or in .cache/bin; installs it with .ci/install-k8s-tools.sh when neither has it. */
export function ensureHelm(): void {
  if (spawnSync('helm', ['version', '--short'], { env }).status === 0) return;
  execFileSync('bash', [join(workspaceRoot, '.ci', 'install-k8s-tools.sh')], { env, stdio: 'ignore' });
}

export interface HelmResult {
  status: number;
  stdout: string;
  stderr: string;
}

export function helm(args: string[], cwd?: string): HelmResult {
  const result = spawnSync('helm', args, { env, cwd, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (result.error) throw result.error;
  return { status: result.status ?? 1, stdout: result.stdout, stderr: result.stderr };
}

export interface ChartCopy {
  dir: string;
  path(chart: ChartName): string;
  remove(): void;
}

/** Copies charts/ to a temp dir and builds every chart's file:// dependencies there. */
export function prepareCharts(): ChartCopy {
  ensureHelm();
  const dir = mkdtempSync(join(tmpdir(), 'chart-verify-'));
  cpSync(chartsDir, dir, { recursive: true });
  for (const chart of [...appCharts, 'tether']) {
    const built = join(dir, chart, 'charts');
    if (existsSync(built)) rmSync(built, { recursive: true });
    const result = helm(['dependency', 'build', join(dir, chart)]);
    if (result.status !== 0) throw new Error(`helm dependency build ${chart} failed:\n${result.stderr}`);
  }
  return {
    dir,
    path: (chart) => join(dir, chart),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export interface TemplateOptions {
  kubeVersion?: string;
  valuesFiles?: string[];
  set?: Record<string, string>;
  apiVersions?: string[];
  releaseName?: string;
  namespace?: string;
}

export function templateArgs(chartPath: string, options: TemplateOptions = {}): string[] {
  const args = [
    'template',
    options.releaseName ?? 'rel',
    chartPath,
    '--namespace',
    options.namespace ?? 'tether',
  ];
  if (options.kubeVersion) args.push('--kube-version', options.kubeVersion);
  for (const file of options.valuesFiles ?? []) args.push('--values', file);
  for (const [key, value] of Object.entries(options.set ?? {})) args.push('--set', `${key}=${value}`);
  for (const api of options.apiVersions ?? []) args.push('--api-versions', api);
  return args;
}

export type Manifest = Record<string, unknown> & {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
};

/** `helm template`, parsed; throws with helm's stderr when rendering fails. */
export function render(chartPath: string, options: TemplateOptions = {}): Manifest[] {
  const result = helm(templateArgs(chartPath, options));
  if (result.status !== 0) throw new Error(result.stderr.trim());
  return parseManifests(result.stdout);
}

export function parseManifests(text: string): Manifest[] {
  return parseAllDocuments(text)
    .map((doc) => {
      if (doc.errors.length > 0) throw new Error(`helm rendered invalid YAML: ${doc.errors[0]?.message}`);
      return doc.toJS() as Manifest | null;
    })
    .filter((doc): doc is Manifest => doc !== null);
}

/** The message `helm template` fails with (its stderr), or undefined when it rendered. */
export function renderError(chartPath: string, options: TemplateOptions = {}): string | undefined {
  const result = helm(templateArgs(chartPath, options));
  return result.status === 0 ? undefined : result.stderr.trim();
}
