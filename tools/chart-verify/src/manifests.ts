/** Typed views of the rendered objects the wiring tests read. */
import type { Manifest } from './helm.ts';

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    secretKeyRef?: { name: string; key: string };
    fieldRef?: { fieldPath: string };
  };
}

export interface Probe {
  httpGet: { path: string; port: string | number };
}

export interface Container {
  name: string;
  image: string;
  args?: string[];
  command?: string[];
  ports?: { name: string; containerPort: number }[];
  env?: EnvVar[];
  startupProbe?: Probe;
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  lifecycle?: { preStop?: { sleep?: { seconds: number }; exec?: { command: string[] } } };
  securityContext?: Record<string, unknown>;
}

export interface PodSpec {
  containers: Container[];
  terminationGracePeriodSeconds?: number;
  automountServiceAccountToken?: boolean;
  securityContext?: Record<string, unknown>;
  topologySpreadConstraints?: { topologyKey: string }[];
}

export interface Deployment extends Manifest {
  spec: {
    strategy: { type: string; rollingUpdate: { maxUnavailable: number; maxSurge: number } };
    template: { metadata: { labels: Record<string, string> }; spec: PodSpec };
  };
}

export interface Service extends Manifest {
  spec: { ports: { name: string; port: number; targetPort: string | number }[] };
}

export function ofKind<T extends Manifest>(manifests: Manifest[], kind: string): T[] {
  return manifests.filter((m) => m.kind === kind) as T[];
}

export function onlyOne<T extends Manifest>(manifests: Manifest[], kind: string): T {
  const found = ofKind<T>(manifests, kind);
  if (found.length !== 1) throw new Error(`expected one ${kind}, rendered ${found.length}`);
  return found[0] as T;
}

/** The port number a probe targets, resolving a named port through the container's ports. */
export function probePort(container: Container, probe: Probe): number {
  const port = probe.httpGet.port;
  if (typeof port === 'number') return port;
  const named = container.ports?.find((p) => p.name === port);
  if (!named) throw new Error(`probe port "${port}" is not a port of container ${container.name}`);
  return named.containerPort;
}

/** preStop sleep seconds, whichever form the chart rendered (0 without a preStop). */
export function preStopSeconds(container: Container): number {
  const preStop = container.lifecycle?.preStop;
  if (preStop?.sleep) return preStop.sleep.seconds;
  const command = preStop?.exec?.command;
  if (command?.[0] === 'sleep') return Number(command[1]);
  return 0;
}

export function envValue(container: Container, name: string): string | undefined {
  return container.env?.find((e) => e.name === name)?.value;
}
