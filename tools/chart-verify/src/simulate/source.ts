/** Where the simulated objects come from: a chart rendered by helm, or a manifest file. */
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { parse } from 'yaml';
import { helm, parseManifests, render, type Manifest } from '../helm.ts';
import type { Container, Deployment, Service } from '../manifests.ts';
import { UsageError, type SimulateOptions } from './options.ts';

export interface SimulatedObjects {
  deployment: Deployment & {
    spec: { replicas?: number; minReadySeconds?: number; progressDeadlineSeconds?: number };
  };
  container: Container;
  /** The Service selecting the Deployment's pods, if one was rendered. */
  service: Service | undefined;
}

/** Renders `chart` with helm. A chart with dependencies is rendered from a temp copy of its parent, dependencies built there. */
function renderChart(chart: string, options: SimulateOptions): Manifest[] {
  const chartDir = resolve(chart);
  const chartFile = join(chartDir, 'Chart.yaml');
  if (!existsSync(chartFile)) throw new UsageError(`--chart ${chart} has no Chart.yaml`);
  const { dependencies } = parse(readFileSync(chartFile, 'utf8')) as { dependencies?: unknown[] };
  const set = Object.fromEntries(
    options.set.map((entry) => {
      const at = entry.indexOf('=');
      if (at <= 0) throw new UsageError(`--set must look like KEY=VALUE, got "${entry}"`);
      return [entry.slice(0, at), entry.slice(at + 1)];
    }),
  );
  const templateOptions = { valuesFiles: options.valuesFiles.map((f) => resolve(f)), set };
  if (!dependencies?.length) return render(chartDir, templateOptions);
  // file:// dependencies are relative to the chart, so its siblings come along; the build output
  // (charts/*.tgz) stays out of the user's tree.
  const copy = mkdtempSync(join(tmpdir(), 'chart-verify-simulate-'));
  try {
    cpSync(dirname(chartDir), copy, {
      recursive: true,
      filter: (src) => !/(^|\/)(node_modules|\.git)$/.test(src),
    });
    const copied = join(copy, basename(chartDir));
    const built = helm(['dependency', 'build', copied]);
    if (built.status !== 0)
      throw new UsageError(`helm dependency build ${chart} failed:\n${built.stderr.trim()}`);
    return render(copied, templateOptions);
  } finally {
    rmSync(copy, { recursive: true, force: true });
  }
}

function selects(selector: Record<string, string> | undefined, labels: Record<string, string>): boolean {
  return !!selector && Object.entries(selector).every(([k, v]) => labels[k] === v);
}

/** Loads the manifests and picks the Deployment, its container and the Service in front of it. */
export function loadObjects(options: SimulateOptions): SimulatedObjects {
  let manifests: Manifest[];
  if (options.chart !== undefined) {
    try {
      manifests = renderChart(options.chart, options);
    } catch (error) {
      if (error instanceof UsageError) throw error;
      throw new UsageError(`helm template ${options.chart} failed:\n${(error as Error).message}`);
    }
  } else {
    const file = options.manifest as string;
    if (!existsSync(file)) throw new UsageError(`--manifest ${file} does not exist`);
    manifests = parseManifests(readFileSync(file, 'utf8'));
  }
  const deployments = manifests.filter((m) => m.kind === 'Deployment') as SimulatedObjects['deployment'][];
  const names = deployments.map((d) => d.metadata.name).join(', ') || 'none';
  const deployment = options.deployment
    ? deployments.find((d) => d.metadata.name === options.deployment)
    : deployments.length === 1
      ? deployments[0]
      : undefined;
  if (!deployment)
    throw new UsageError(
      options.deployment
        ? `--deployment ${options.deployment} was not rendered (Deployments: ${names})`
        : `pick one with --deployment (Deployments: ${names})`,
    );
  const containers = deployment.spec.template.spec.containers;
  const container = options.container ? containers.find((c) => c.name === options.container) : containers[0];
  if (!container)
    throw new UsageError(
      `--container ${options.container} is not in ${deployment.metadata.name} (containers: ${containers.map((c) => c.name).join(', ')})`,
    );
  const labels = deployment.spec.template.metadata.labels;
  const service = (
    manifests.filter((m) => m.kind === 'Service') as (Service & {
      spec: { selector?: Record<string, string> };
    })[]
  ).find((s) => selects(s.spec.selector, labels));
  return { deployment, container, service };
}
