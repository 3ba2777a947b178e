/**
 * `chart-verify live`: install or upgrade the chart in the cluster of the --context given (never
 * the current one implicitly), watch the release, roll the Deployment while an in-cluster Job
 * loads its Service, then report.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { liveHelp } from './help.ts';
import {
  AppsV1Api,
  BatchV1Api,
  CoreV1Api,
  KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  type V1Deployment,
} from '@kubernetes/client-node';
import { helm } from '../helm.ts';
import { processIo, type Io } from '../static/command.ts';
import { analyzeRollout } from './analyze.ts';
import { loadJob, parseLoadLog, type LoadSummary } from './load-job.ts';
import { buildReport, formatReport } from './report.ts';
import { watchRollout } from './watch.ts';

class LiveInputError extends Error {}

function duration(name: string, text: string | undefined, fallback: number, max: number): number {
  if (text === undefined) return fallback;
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text);
  if (!match) throw new LiveInputError(`--${name} must be a duration like 90s or 2m (got "${text}")`);
  const value = Number(match[1]) * { ms: 1, s: 1000, m: 60_000 }[(match[2] ?? 'ms') as 'ms'];
  if (value <= 0 || value > max)
    throw new LiveInputError(`--${name} must be above 0 and at most ${max / 1000} s`);
  return value;
}

function integer(name: string, text: string | undefined, fallback: number, min: number, max: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < min || value > max)
    throw new LiveInputError(`--${name} must be a whole number from ${min} to ${max} (got "${text}")`);
  return value;
}

/** The kubeconfig with `context` made current; refuses a context the file does not have. */
export function kubeConfigFor(context: string | undefined, file: string | undefined): KubeConfig {
  if (!context)
    throw new LiveInputError(
      '--context is required: live changes a cluster, so it never picks the current context by itself',
    );
  const kc = new KubeConfig();
  if (file) kc.loadFromFile(file);
  else kc.loadFromDefault();
  const names = kc.getContexts().map((c) => c.name);
  if (!names.includes(context))
    throw new LiveInputError(
      `context "${context}" is not in the kubeconfig (contexts: ${names.join(', ') || 'none'})`,
    );
  kc.setCurrentContext(context);
  return kc;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function runLive(argv: string[], io: Io = processIo): Promise<number> {
  let values;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        context: { type: 'string' },
        kubeconfig: { type: 'string' },
        namespace: { type: 'string', short: 'n' },
        release: { type: 'string' },
        values: { type: 'string', short: 'f', multiple: true },
        set: { type: 'string', multiple: true },
        'skip-install': { type: 'boolean' },
        deployment: { type: 'string' },
        service: { type: 'string' },
        path: { type: 'string' },
        rate: { type: 'string' },
        duration: { type: 'string' },
        rollouts: { type: 'string' },
        'load-image': { type: 'string' },
        timeout: { type: 'string' },
        json: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    io.err(`chart-verify live: ${(error as Error).message}\n(run chart-verify live --help)`);
    return 2;
  }
  if (values.help) {
    io.out(liveHelp);
    return 0;
  }
  let settings;
  try {
    const kc = kubeConfigFor(values.context, values.kubeconfig);
    if (!values['skip-install'] && positionals.length !== 1)
      throw new LiveInputError('give one chart directory (or --skip-install to use the installed release)');
    settings = {
      kc,
      context: values.context as string,
      namespace: values.namespace ?? 'chart-verify',
      release: values.release ?? 'chart-verify',
      rate: integer('rate', values.rate, 50, 1, 500),
      durationMs: duration('duration', values.duration, 120_000, 15 * 60_000),
      rollouts: integer('rollouts', values.rollouts, 1, 1, 10),
      timeoutMs: duration('timeout', values.timeout, 5 * 60_000, 60 * 60_000),
    };
  } catch (error) {
    if (!(error instanceof LiveInputError)) throw error;
    io.err(`chart-verify live: ${error.message}`);
    return 2;
  }
  const { kc, context, namespace, release } = settings;
  if (!values['skip-install']) {
    const args = [
      'upgrade',
      '--install',
      release,
      positionals[0] as string,
      '--kube-context',
      context,
      '--namespace',
      namespace,
    ];
    args.push('--create-namespace', '--wait', '--timeout', `${Math.ceil(settings.timeoutMs / 1000)}s`);
    if (values.kubeconfig) args.push('--kubeconfig', values.kubeconfig);
    for (const file of values.values ?? []) args.push('--values', file);
    for (const pair of values.set ?? []) args.push('--set', pair);
    io.err(`helm ${args.slice(0, 3).join(' ')} (context ${context}, namespace ${namespace})`);
    const result = helm(args);
    if (result.status !== 0) {
      io.err(`chart-verify live: helm failed: ${result.stderr.trim()}`);
      return 1;
    }
  }
  const apps = kc.makeApiClient(AppsV1Api);
  const core = kc.makeApiClient(CoreV1Api);
  const batch = kc.makeApiClient(BatchV1Api);
  const selector = `app.kubernetes.io/instance=${release}`;
  const deployments = (await apps.listNamespacedDeployment({ namespace, labelSelector: selector })).items;
  const deployment = values.deployment
    ? deployments.find((d) => d.metadata?.name === values.deployment)
    : deployments.length === 1
      ? deployments[0]
      : undefined;
  if (!deployment) {
    io.err(
      `chart-verify live: name the Deployment with --deployment (release ${release} has: ${deployments.map((d) => d.metadata?.name).join(', ') || 'none'})`,
    );
    return 2;
  }
  const name = deployment.metadata?.name as string;
  const podLabels = deployment.spec?.template.metadata?.labels ?? {};
  const services = (await core.listNamespacedService({ namespace })).items.filter((s) =>
    values.service
      ? s.metadata?.name === values.service
      : Object.entries(s.spec?.selector ?? {}).length > 0 &&
        Object.entries(s.spec?.selector ?? {}).every(([k, v]) => podLabels[k] === v),
  );
  const service = services[0];
  const port = service?.spec?.ports?.[0]?.port;
  if (!service || port === undefined) {
    io.err(
      `chart-verify live: no Service selects Deployment ${name}${values.service ? ` named ${values.service}` : ''}`,
    );
    return 2;
  }
  const serviceName = service.metadata?.name as string;
  const podSelector = Object.entries(deployment.spec?.selector?.matchLabels ?? podLabels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  const watch = watchRollout(kc, {
    namespace,
    podSelector,
    sliceSelector: `kubernetes.io/service-name=${serviceName}`,
  });
  const warnings: string[] = [];
  let load: LoadSummary | undefined;
  let startedAt = Date.now();
  const jobName = `chart-verify-load-${Date.now().toString(36)}`;
  try {
    await Promise.race([
      watch.synced,
      sleep(settings.timeoutMs).then(() => {
        throw new Error(
          `the informers could not list the release within ${settings.timeoutMs} ms: ${watch.restarts.at(-1)?.error ?? 'no answer'}`,
        );
      }),
    ]);
    await batch.createNamespacedJob({
      namespace,
      body: loadJob({
        name: jobName,
        namespace,
        url: `http://${serviceName}.${namespace}.svc:${port}${values.path ?? '/'}`,
        ratePerSec: settings.rate,
        durationMs: settings.durationMs,
        timeoutMs: 10_000,
        image: values['load-image'] ?? 'node:24-bookworm-slim',
      }),
    });
    const loadPod = await waitFor(settings.timeoutMs, async () => {
      const pods = (await core.listNamespacedPod({ namespace, labelSelector: `job-name=${jobName}` })).items;
      return pods.find((p) => p.status?.phase === 'Running' || p.status?.phase === 'Succeeded');
    });
    const loadStarted = Date.now();
    await sleep(Math.min(5_000, settings.durationMs / 10));
    startedAt = Date.now();
    for (let i = 0; i < settings.rollouts; i++) {
      io.err(`rollout ${i + 1}/${settings.rollouts} of Deployment ${name}`);
      await restart(apps, namespace, name);
      await waitFor(settings.timeoutMs, async () =>
        rolledOut(await apps.readNamespacedDeployment({ name, namespace })),
      );
    }
    if (Date.now() - loadStarted > settings.durationMs)
      warnings.push('the rollouts outlasted --duration: the last part ran without load');
    await waitFor(settings.durationMs + settings.timeoutMs, async () => {
      const job = await batch.readNamespacedJob({ name: jobName, namespace });
      return (job.status?.succeeded ?? 0) + (job.status?.failed ?? 0) > 0 ? job : undefined;
    });
    load = parseLoadLog(
      await core.readNamespacedPodLog({ name: loadPod.metadata?.name as string, namespace }),
    );
  } finally {
    await watch.stop();
    await batch
      .deleteNamespacedJob({ name: jobName, namespace, propagationPolicy: 'Background' })
      .catch(() => undefined);
  }
  const report = buildReport({
    context,
    namespace,
    deployment: name,
    service: serviceName,
    rollouts: settings.rollouts,
    ...(load ? { load } : {}),
    watchRestarts: watch.restarts,
    analysis: analyzeRollout(watch.observations, startedAt),
    warnings,
  });
  if (values.json) writeFileSync(values.json, `${JSON.stringify(report, null, 2)}\n`);
  io.out(formatReport(report));
  return report.passed ? 0 : 1;
}

/** `kubectl rollout restart`: a new pod-template annotation, so the Deployment rolls. */
async function restart(apps: AppsV1Api, namespace: string, name: string): Promise<void> {
  const body = {
    spec: {
      template: {
        metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': new Date().toISOString() } },
      },
    },
  };
  await apps.patchNamespacedDeployment(
    { name, namespace, body },
    setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
  );
}

function rolledOut(d: V1Deployment): boolean {
  const want = d.spec?.replicas ?? 1;
  const s = d.status ?? {};
  return (
    (s.observedGeneration ?? 0) >= (d.metadata?.generation ?? 0) &&
    (s.updatedReplicas ?? 0) === want &&
    (s.replicas ?? 0) === want &&
    (s.availableReplicas ?? 0) === want
  );
}

async function waitFor<T>(timeoutMs: number, check: () => Promise<T | undefined | false>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const result = await check();
    if (result) return result;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms`);
    await sleep(1_000);
  }
}
