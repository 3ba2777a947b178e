/**
 * The objects `static` checks: whatever helm rendered or a manifest held, read with
 * @kubernetes/client-node's `loadAllYaml` and typed with its models. Workloads are reduced to the
 * parts the rules read: their pod template, replica count and, for Deployments, the strategy.
 */
import {
  loadAllYaml,
  type KubernetesObject,
  type V1Container,
  type V1CronJob,
  type V1DaemonSet,
  type V1Deployment,
  type V1Job,
  type V1LabelSelector,
  type V1Pod,
  type V1PodDisruptionBudget,
  type V1PodSpec,
  type V1Service,
  type V1StatefulSet,
  type V2HorizontalPodAutoscaler,
} from '@kubernetes/client-node';

/** Kinds whose pods run until replaced: the lifecycle rules (probes, preStop, budget) apply. */
export const longRunningKinds = ['Deployment', 'StatefulSet', 'DaemonSet'] as const;
/** Every kind that carries a pod spec: the hardening rules (resources, securityContext, image) apply. */
export const podKinds = [...longRunningKinds, 'Job', 'CronJob', 'Pod'] as const;

export type PodKind = (typeof podKinds)[number];

/** A Kubernetes object as loaded, with the fields every check reads. */
export type K8sObject = KubernetesObject & {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; annotations?: Record<string, string> };
};

/** One object with a pod template, flattened for the rules. */
export interface Workload {
  object: K8sObject;
  kind: PodKind;
  /** `Deployment/rel-api` (with `namespace/` first when the object names one). */
  ref: string;
  labels: Record<string, string>;
  pod: V1PodSpec;
  /** Fewest and most replicas: `spec.replicas` both, or an HPA's min and max (DaemonSets: 0). */
  replicas: { min: number; max: number };
  longRunning: boolean;
  deployment?: V1Deployment;
}

/** Reads every YAML document of `text` (empty documents and `List` wrappers are unfolded). */
export function loadObjects(text: string, source: string): K8sObject[] {
  let documents: unknown[];
  try {
    documents = loadAllYaml(text);
  } catch (error) {
    throw new Error(`${source}: not valid YAML: ${(error as Error).message.split('\n')[0]}`, {
      cause: error,
    });
  }
  const objects: K8sObject[] = [];
  for (const document of documents) collect(document, source, objects);
  return objects;
}

function collect(document: unknown, source: string, into: K8sObject[]): void {
  if (document === null || document === undefined) return;
  if (isObject(document) && String(document['kind']).endsWith('List') && Array.isArray(document['items'])) {
    for (const item of document['items']) collect(item, source, into);
    return;
  }
  if (!isObject(document) || typeof document['kind'] !== 'string' || !isObject(document['metadata']))
    throw new Error(`${source}: a document is not a Kubernetes object (it needs kind and metadata)`);
  into.push(document as unknown as K8sObject);
}

/** `Kind/name`, or `Kind/namespace/name` when the object has a namespace. */
export function refOf(object: K8sObject): string {
  const ns = object.metadata.namespace;
  return ns ? `${object.kind}/${ns}/${object.metadata.name}` : `${object.kind}/${object.metadata.name}`;
}

/** The workloads among `objects`, with HPAs folded into their Deployments' replica counts. */
export function workloadsOf(objects: K8sObject[]): Workload[] {
  const hpas = objects.filter((o) => o.kind === 'HorizontalPodAutoscaler') as V2HorizontalPodAutoscaler[];
  const workloads: Workload[] = [];
  for (const object of objects) {
    const template = podTemplate(object);
    if (!template) continue;
    const kind = object.kind as PodKind;
    const hpa = hpas.find(
      (h) =>
        h.spec?.scaleTargetRef.kind === kind &&
        h.spec.scaleTargetRef.name === object.metadata.name &&
        h.metadata?.namespace === object.metadata.namespace,
    );
    const specReplicas = (object as V1Deployment).spec?.replicas;
    workloads.push({
      object,
      kind,
      ref: refOf(object),
      labels: template.labels,
      pod: template.spec,
      replicas: hpa
        ? { min: hpa.spec?.minReplicas ?? 1, max: hpa.spec?.maxReplicas ?? 1 }
        : kind === 'DaemonSet'
          ? { min: 0, max: 0 }
          : { min: specReplicas ?? 1, max: specReplicas ?? 1 },
      longRunning: (longRunningKinds as readonly string[]).includes(kind),
      ...(kind === 'Deployment' ? { deployment: object as V1Deployment } : {}),
    });
  }
  return workloads;
}

function podTemplate(object: K8sObject): { labels: Record<string, string>; spec: V1PodSpec } | undefined {
  switch (object.kind) {
    case 'Deployment':
    case 'StatefulSet':
    case 'DaemonSet':
    case 'Job': {
      const template = (object as V1Deployment | V1StatefulSet | V1DaemonSet | V1Job).spec?.template;
      return template?.spec ? { labels: template.metadata?.labels ?? {}, spec: template.spec } : undefined;
    }
    case 'CronJob': {
      const template = (object as V1CronJob).spec?.jobTemplate.spec?.template;
      return template?.spec ? { labels: template.metadata?.labels ?? {}, spec: template.spec } : undefined;
    }
    case 'Pod': {
      const pod = object as V1Pod;
      return pod.spec ? { labels: pod.metadata?.labels ?? {}, spec: pod.spec } : undefined;
    }
    default:
      return undefined;
  }
}

/** Every container of a pod spec, init containers included. */
export function allContainers(pod: V1PodSpec): V1Container[] {
  return [...(pod.initContainers ?? []), ...pod.containers];
}

/** Does a Service's selector (a plain label map) pick the pods with `labels`? */
export function serviceSelects(service: V1Service, labels: Record<string, string>): boolean {
  const selector = service.spec?.selector;
  if (!selector || Object.keys(selector).length === 0) return false;
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

/** Does a label selector (matchLabels and matchExpressions) pick the pods with `labels`? */
export function selectorMatches(
  selector: V1LabelSelector | undefined,
  labels: Record<string, string>,
): boolean {
  if (!selector) return false;
  const matchLabels = Object.entries(selector.matchLabels ?? {});
  const expressions = selector.matchExpressions ?? [];
  if (matchLabels.length === 0 && expressions.length === 0) return true;
  return (
    matchLabels.every(([k, v]) => labels[k] === v) &&
    expressions.every((e) => {
      const value = labels[e.key];
      switch (e.operator) {
        case 'In':
          return value !== undefined && (e.values ?? []).includes(value);
        case 'NotIn':
          return value === undefined || !(e.values ?? []).includes(value);
        case 'Exists':
          return value !== undefined;
        case 'DoesNotExist':
          return value === undefined;
        default:
          return false;
      }
    })
  );
}

/** Same namespace, treating a missing namespace as the release's (they were rendered together). */
export function sameNamespace(a: K8sObject, b: KubernetesObject): boolean {
  return (a.metadata.namespace ?? '') === (b.metadata?.namespace ?? '');
}

export function servicesOf(objects: K8sObject[]): V1Service[] {
  return objects.filter((o) => o.kind === 'Service') as V1Service[];
}

export function pdbsOf(objects: K8sObject[]): (V1PodDisruptionBudget & K8sObject)[] {
  return objects.filter((o) => o.kind === 'PodDisruptionBudget') as (V1PodDisruptionBudget & K8sObject)[];
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
