/**
 * Informers (client-node `makeInformer`) on the Deployments, Pods and EndpointSlices of one
 * release, each restarted after an error (a watch the API server cut, a list that failed), and
 * every event they deliver written to one timeline with the time it was observed.
 */
import {
  AppsV1Api,
  CoreV1Api,
  DiscoveryV1Api,
  makeInformer,
  type Informer,
  type KubeConfig,
  type KubernetesObject,
  type ObjectCache,
  type V1Deployment,
  type V1EndpointSlice,
  type V1Pod,
} from '@kubernetes/client-node';

export type Resource = 'deployment' | 'pod' | 'endpointslice';

/** One event an informer delivered, stamped with when this process saw it. */
export type Observation =
  | { at: number; resource: 'deployment'; verb: Verb; object: V1Deployment }
  | { at: number; resource: 'pod'; verb: Verb; object: V1Pod }
  | { at: number; resource: 'endpointslice'; verb: Verb; object: V1EndpointSlice };
export type Verb = 'add' | 'update' | 'delete';

export interface WatchOptions {
  namespace: string;
  /** Label selector of the release's Deployments and Pods (`app.kubernetes.io/instance=tether`). */
  podSelector: string;
  /** Label selector of the Service's EndpointSlices (`kubernetes.io/service-name=tether-api`). */
  sliceSelector: string;
  /** Wait before restarting an informer after an error (default 1000 ms), doubled per failure in a row. */
  restartDelayMs?: number;
  /** Clock for the observation times (default `Date.now`). */
  now?: () => number;
}

export interface RolloutWatch {
  observations: Observation[];
  /** Errors each informer recovered from by restarting, in order. */
  restarts: { resource: Resource; error: string }[];
  /** Resolves once every informer has listed and delivered what it listed. */
  synced: Promise<void>;
  stop(): Promise<void>;
}

type AnyInformer = Informer<KubernetesObject> & ObjectCache<KubernetesObject>;

/** Starts the three informers; `stop()` ends them and cancels pending restarts. */
export function watchRollout(kc: KubeConfig, options: WatchOptions): RolloutWatch {
  const { namespace, podSelector, sliceSelector } = options;
  const now = options.now ?? Date.now;
  const apps = kc.makeApiClient(AppsV1Api);
  const core = kc.makeApiClient(CoreV1Api);
  const discovery = kc.makeApiClient(DiscoveryV1Api);
  const observations: Observation[] = [];
  const restarts: RolloutWatch['restarts'] = [];
  const timers = new Set<NodeJS.Timeout>();
  let stopped = false;

  const sources: [Resource, string, () => Promise<{ items: KubernetesObject[] }>, string][] = [
    [
      'deployment',
      `/apis/apps/v1/namespaces/${namespace}/deployments`,
      () => apps.listNamespacedDeployment({ namespace, labelSelector: podSelector }),
      podSelector,
    ],
    [
      'pod',
      `/api/v1/namespaces/${namespace}/pods`,
      () => core.listNamespacedPod({ namespace, labelSelector: podSelector }),
      podSelector,
    ],
    [
      'endpointslice',
      `/apis/discovery.k8s.io/v1/namespaces/${namespace}/endpointslices`,
      () => discovery.listNamespacedEndpointSlice({ namespace, labelSelector: sliceSelector }),
      sliceSelector,
    ],
  ];

  const informers: AnyInformer[] = [];
  const syncs = sources.map(([resource, path, list, selector]) => {
    let listed: () => void = () => undefined;
    const synced = new Promise<void>((resolve) => (listed = resolve));
    // Resolved a macrotask after the first list returns, once the informer has delivered its items.
    const listOnce = async () => {
      const result = await list();
      setImmediate(listed);
      return result;
    };
    const informer = makeInformer(kc, path, listOnce as never, selector) as AnyInformer;
    informers.push(informer);
    let failures = 0;
    for (const verb of ['add', 'update', 'delete'] as const)
      informer.on(verb, (object) => {
        failures = 0;
        observations.push({ at: now(), resource, verb, object } as Observation);
      });
    informer.on('error', (error) => {
      if (stopped) return;
      restarts.push({ resource, error: describe(error) });
      // Doubling up to 30 s while nothing arrives: an API server that keeps failing is not hammered.
      const delay = Math.min((options.restartDelayMs ?? 1_000) * 2 ** failures++, 30_000);
      const timer = setTimeout(() => {
        timers.delete(timer);
        if (!stopped) void informer.start().catch(() => undefined);
      }, delay);
      timers.add(timer);
    });
    return synced;
  });
  for (const informer of informers) void informer.start().catch(() => undefined);

  return {
    observations,
    restarts,
    synced: Promise.all(syncs).then(() => undefined),
    async stop() {
      stopped = true;
      for (const timer of timers) clearTimeout(timer);
      await Promise.all(informers.map((i) => i.stop()));
    },
  };
}

function describe(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === 'object' && error !== null && 'message' in error) return String(error.message);
  return String(error);
}
