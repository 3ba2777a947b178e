/**
 * Probe rules, for the containers of long-running workloads: all three probes exist, they aim at
 * ports the container declares, readiness and liveness are different checks, and liveness does
 * not check dependencies.
 */
import type { V1Container, V1Probe } from '@kubernetes/client-node';
import { fail, pass, type Finding, type Rule } from '../finding.ts';

const probeKinds = ['startupProbe', 'readinessProbe', 'livenessProbe'] as const;

function eachContainer(
  context: Parameters<Rule>[0],
  check: (container: V1Container, ref: string) => Finding | undefined,
): Finding[] {
  const findings: Finding[] = [];
  for (const workload of context.workloads.filter((w) => w.longRunning))
    for (const container of workload.pod.containers) {
      const finding = check(container, workload.ref);
      if (finding) findings.push(finding);
    }
  return findings;
}

export const probesPresent: Rule = (context) =>
  eachContainer(context, (container, ref) => {
    const missing = probeKinds.filter((kind) => !container[kind]);
    return missing.length === 0
      ? pass('probes-present', ref, 'startupProbe, readinessProbe and livenessProbe are set', container.name)
      : fail(
          'probes-present',
          ref,
          `container ${container.name} has no ${missing.join(', ')}`,
          container.name,
        );
  });

/** The port a probe targets, or undefined for exec probes. */
function probePort(probe: V1Probe): string | number | undefined {
  return probe.httpGet?.port ?? probe.tcpSocket?.port ?? probe.grpc?.port;
}

export const probePortDeclared: Rule = (context) =>
  eachContainer(context, (container, ref) => {
    const ports = container.ports ?? [];
    const problems: string[] = [];
    let checked = 0;
    for (const kind of probeKinds) {
      const probe = container[kind];
      const port = probe && probePort(probe);
      if (port === undefined) continue;
      checked++;
      const declared =
        typeof port === 'number' || /^\d+$/.test(port)
          ? ports.some((p) => p.containerPort === Number(port))
          : ports.some((p) => p.name === port);
      if (!declared) problems.push(`${kind} targets port ${JSON.stringify(port)}`);
    }
    if (checked === 0) return undefined;
    const list = ports
      .map((p) => (p.name ? `${p.name}=${p.containerPort}` : String(p.containerPort)))
      .join(', ');
    return problems.length === 0
      ? pass('probe-port', ref, `probes aim at declared ports (${list})`, container.name)
      : fail(
          'probe-port',
          ref,
          `${problems.join('; ')}, which container ${container.name} does not declare (ports: ${list || 'none'})`,
          container.name,
        );
  });

/** A probe's check, comparable between probes: `GET /readyz on port admin`. */
export function describeCheck(probe: V1Probe): string {
  if (probe.httpGet)
    return `${probe.httpGet.scheme ?? 'HTTP'} GET ${probe.httpGet.path ?? '/'} on port ${probe.httpGet.port}`;
  if (probe.tcpSocket) return `TCP connect to port ${probe.tcpSocket.port}`;
  if (probe.grpc) return `gRPC health of "${probe.grpc.service ?? ''}" on port ${probe.grpc.port}`;
  if (probe.exec) return `exec ${JSON.stringify(probe.exec.command ?? [])}`;
  return 'no handler';
}

export const probesDistinct: Rule = (context) =>
  eachContainer(context, (container, ref) => {
    const { readinessProbe: readiness, livenessProbe: liveness } = container;
    if (!readiness || !liveness) return undefined;
    const check = describeCheck(liveness);
    return check !== describeCheck(readiness)
      ? pass(
          'probes-distinct',
          ref,
          `readiness (${describeCheck(readiness)}) and liveness (${check}) differ`,
          container.name,
        )
      : fail(
          'probes-distinct',
          ref,
          `container ${container.name}: readinessProbe and livenessProbe are the same check (${check})`,
          container.name,
        );
  });

export const livenessNoDependencies: Rule = (context) => {
  const pattern = new RegExp(context.config.dependencyPathPattern, 'i');
  return eachContainer(context, (container, ref) => {
    const liveness = container.livenessProbe;
    if (!liveness) return undefined;
    const target = liveness.httpGet
      ? (liveness.httpGet.path ?? '/')
      : (liveness.exec?.command ?? []).join(' ');
    const check = describeCheck(liveness);
    return pattern.test(target)
      ? fail(
          'liveness-no-dependencies',
          ref,
          `container ${container.name}: livenessProbe ${check} looks like a dependency check (matches dependencyPathPattern)`,
          container.name,
        )
      : pass(
          'liveness-no-dependencies',
          ref,
          `livenessProbe ${check} is not a dependency path`,
          container.name,
        );
  });
};
