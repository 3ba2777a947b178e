/**
 * A rendered container turned into what the kubelet emulation runs: the process (entry point, cwd,
 * env), its ports remapped to free loopback ports, its probes, preStop and grace period.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { IntOrString, V1Container, V1Probe } from '@kubernetes/client-node';
import { freePort } from '@tether/devstack';
import type { HttpGetProbe, PreStopHook, RollingPodTemplate } from '@tether/rollout-sim';
import { imageCmd, imageEntrypoint } from '../container-run.ts';
import { workspaceRoot } from '../helm.ts';
import { UsageError } from './options.ts';
import type { SimulatedObjects } from './source.ts';

export interface TemplateInputs {
  objects: SimulatedObjects;
  /** --command, split. */
  command?: string[];
  /** --workspace. */
  workspace?: string;
  /** --env plus the devstack's variables: win over the manifest. */
  env: Record<string, string>;
}

export interface PodTemplate {
  /** The workspace folder the process runs in, relative to the repository. */
  workspace: string;
  /** The command, as run (argv[0] is this Node for `node`). */
  argv: string[];
  /** Env var names the manifest sets that could not be resolved and were not overridden. */
  warnings: string[];
  /** Builds one pod: fresh loopback ports, env and probes rewritten to them. */
  build(id: string): Promise<RollingPodTemplate>;
}

/** The workspace an image was built from, by its name's last segment (ghcr.io/tether/api -> apps/api). */
export function workspaceOfImage(image: string): string | undefined {
  const name = image.split('@')[0]?.split('/').pop()?.split(':')[0] ?? '';
  return ['apps', 'tools', 'libs']
    .map((dir) => `${dir}/${name}`)
    .find((candidate) => name && existsSync(join(workspaceRoot, candidate, 'package.json')));
}

function probe(
  container: V1Container,
  kind: string,
  spec: V1Probe | undefined,
  resolvePort: (port: IntOrString) => number,
): HttpGetProbe | undefined {
  if (!spec) return undefined;
  const get = spec.httpGet;
  if (!get)
    throw new UsageError(
      `${container.name}: ${kind} is not an httpGet probe; only httpGet probes are emulated`,
    );
  if (get.scheme && get.scheme !== 'HTTP')
    throw new UsageError(`${container.name}: ${kind} uses ${get.scheme}; only HTTP is emulated`);
  return {
    path: get.path ?? '/',
    port: resolvePort(get.port),
    host: '127.0.0.1',
    // Kubernetes' defaults for omitted fields.
    initialDelayMs: (spec.initialDelaySeconds ?? 0) * 1000,
    periodMs: (spec.periodSeconds ?? 10) * 1000,
    timeoutMs: (spec.timeoutSeconds ?? 1) * 1000,
    failureThreshold: spec.failureThreshold ?? 3,
    successThreshold: spec.successThreshold ?? 1,
  };
}

function fieldValue(path: string, id: string, namespace: string): string {
  const fields: Record<string, string> = {
    'metadata.name': id,
    'metadata.namespace': namespace,
    'metadata.uid': `00000000-0000-4000-8000-${Buffer.from(id).toString('hex').slice(-12).padStart(12, '0')}`,
    'spec.nodeName': 'chart-verify-simulate',
    'status.podIP': '127.0.0.1',
    'status.hostIP': '127.0.0.1',
  };
  const value = fields[path];
  if (value === undefined)
    throw new UsageError(`fieldRef ${path} is not emulated; set the variable with --env`);
  return value;
}

/** Prepares the pod template of the simulated Deployment; throws UsageError naming what it cannot emulate. */
export function podTemplate(inputs: TemplateInputs): PodTemplate {
  const { deployment, service } = inputs.objects;
  const container = inputs.objects.container as unknown as V1Container;
  const podSpec = deployment.spec.template.spec as { terminationGracePeriodSeconds?: number };
  const { namespace } = deployment.metadata as { namespace?: string };
  const workspace = inputs.workspace ?? workspaceOfImage(container.image ?? '');
  if (!workspace)
    throw new UsageError(
      `cannot tell which workspace image ${container.image} runs; pass --workspace (e.g. apps/api)`,
    );
  if (!existsSync(join(workspaceRoot, workspace)))
    throw new UsageError(`--workspace ${workspace} does not exist`);
  const cwd = join(workspaceRoot, workspace);
  // A pod's `command` replaces the image's ENTRYPOINT, its `args` the CMD.
  const argv =
    inputs.command ??
    (container.command
      ? [...container.command, ...(container.args ?? [])]
      : [...imageEntrypoint, ...(container.args ?? imageCmd)]);
  const run = argv.map((arg, i) => (i === 0 && arg === 'node' ? process.execPath : arg));

  const warnings: string[] = [];
  if (container.envFrom?.length) warnings.push('envFrom is not emulated: pass those variables with --env');
  const declared = new Map<string, number>();
  for (const port of container.ports ?? []) if (port.name) declared.set(port.name, port.containerPort);
  const containerPorts = (container.ports ?? []).map((p) => p.containerPort);
  const portOf = (port: IntOrString): number => {
    if (typeof port === 'number') return port;
    const named = declared.get(port);
    if (named === undefined)
      throw new UsageError(`port "${port}" is not a named port of container ${container.name}`);
    return named;
  };
  const targetPort = service?.spec.ports[0]?.targetPort ?? containerPorts[0];
  if (targetPort === undefined)
    throw new UsageError(`container ${container.name} declares no port and no Service targets it`);
  const target = portOf(targetPort);

  const lifecycle = container.lifecycle?.preStop;
  if (lifecycle?.httpGet) throw new UsageError(`${container.name}: an httpGet preStop is not emulated`);

  return {
    workspace,
    argv: run,
    warnings,
    async build(id) {
      const mapped = new Map<number, number>();
      for (const port of new Set([...containerPorts, target])) mapped.set(port, await freePort());
      const local = (port: IntOrString): number => {
        const number = portOf(port);
        const found = mapped.get(number);
        if (found === undefined)
          throw new UsageError(`port ${number} is not a containerPort of ${container.name}`);
        return found;
      };
      const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
      for (const variable of container.env ?? []) {
        if (variable.name in inputs.env) continue;
        const from = variable.valueFrom;
        if (from?.fieldRef)
          env[variable.name] = fieldValue(from.fieldRef.fieldPath, id, namespace ?? 'default');
        else if (from)
          throw new UsageError(
            `env ${variable.name} comes from a ${Object.keys(from)[0]}; pass it with --env ${variable.name}=… (or --devstack for DATABASE_URL, REDIS_URL, AUTH_JWT_SECRET)`,
          );
        else {
          const value = variable.value ?? '';
          // PORT=8080 for containerPort 8080: the same port, remapped for this replica.
          const remapped = /^\d+$/.test(value) ? mapped.get(Number(value)) : undefined;
          env[variable.name] = remapped === undefined ? value : String(remapped);
        }
      }
      Object.assign(env, inputs.env);
      const preStop: PreStopHook | undefined = lifecycle?.sleep
        ? { sleepMs: Number(lifecycle.sleep.seconds) * 1000 }
        : lifecycle?.exec?.command?.length
          ? {
              exec: {
                command: lifecycle.exec.command[0] as string,
                args: lifecycle.exec.command.slice(1),
                env,
                cwd,
                inheritEnv: false,
              },
            }
          : undefined;
      const [command, ...args] = run as [string, ...string[]];
      const startupProbe = probe(container, 'startupProbe', container.startupProbe, local);
      const readinessProbe = probe(container, 'readinessProbe', container.readinessProbe, local);
      const livenessProbe = probe(container, 'livenessProbe', container.livenessProbe, local);
      return {
        pod: {
          container: { command, args, env, cwd, inheritEnv: false },
          port: local(target),
          ...(startupProbe ? { startupProbe } : {}),
          ...(readinessProbe ? { readinessProbe } : {}),
          ...(livenessProbe ? { livenessProbe } : {}),
          ...(preStop ? { preStop } : {}),
          terminationGracePeriodMs: (podSpec.terminationGracePeriodSeconds ?? 30) * 1000,
        },
        endpoint: { host: '127.0.0.1', port: local(target) },
      };
    },
  };
}
