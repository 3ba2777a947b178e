import { hostname } from 'node:os';
import type { Attributes } from '@opentelemetry/api';

/**
 * Kubernetes identity, read from variables the charts set through the downward API:
 *
 *   K8S_POD_NAME       <- fieldRef metadata.name
 *   K8S_POD_UID        <- fieldRef metadata.uid
 *   K8S_NAMESPACE_NAME <- fieldRef metadata.namespace
 *   K8S_NODE_NAME      <- fieldRef spec.nodeName
 *   K8S_CONTAINER_NAME <- (literal, the container's name)
 *
 * Mapped to the semantic-convention resource attributes `k8s.pod.name`, `k8s.pod.uid`,
 * `k8s.namespace.name`, `k8s.node.name`, `k8s.container.name`.
 */
export const k8sEnvironment: Record<string, string> = {
  K8S_POD_NAME: 'k8s.pod.name',
  K8S_POD_UID: 'k8s.pod.uid',
  K8S_NAMESPACE_NAME: 'k8s.namespace.name',
  K8S_NODE_NAME: 'k8s.node.name',
  K8S_CONTAINER_NAME: 'k8s.container.name',
};

export interface ResourceInput {
  serviceName: string;
  serviceVersion?: string;
  environment?: string;
  attributes?: Attributes;
  env: NodeJS.ProcessEnv;
}

/** Tether's resource attributes. `OTEL_RESOURCE_ATTRIBUTES`/`OTEL_SERVICE_NAME` are merged over these by the SDK. */
export function resourceAttributes(input: ResourceInput): Attributes {
  const out: Attributes = { 'service.name': input.serviceName };
  if (input.serviceVersion) out['service.version'] = input.serviceVersion;
  if (input.environment) out['deployment.environment.name'] = input.environment;
  for (const [variable, attribute] of Object.entries(k8sEnvironment)) {
    const value = input.env[variable];
    if (value !== undefined && value !== '') out[attribute] = value;
  }
  // One instance = one pod (stable across container restarts in the same pod), else host+pid.
  out['service.instance.id'] = input.env['K8S_POD_NAME'] || `${hostname()}-${process.pid}`;
  out['process.pid'] = process.pid;
  out['process.runtime.name'] = 'nodejs';
  out['process.runtime.version'] = process.versions.node;
  return { ...out, ...input.attributes };
}
