import { freePort } from '@tether/devstack';
import { integerOption, invalidOption } from './errors.ts';
import type { LoadBalancer } from './load-balancer.ts';
import { Pod, type PodSpec, type PodTermination } from './pod.ts';

export interface PodContext {
  /** Pod name, `<deployment>-<n>`. */
  id: string;
  /** Free port for the served traffic (the container port behind the Service). */
  port: number;
  /** Free port for the probes (ADMIN_PORT). */
  adminPort: number;
}

export interface DeploymentOptions {
  /** The Service the pods join. */
  loadBalancer: LoadBalancer;
  /** Builds the process of one pod from its name and ports (the pod template). */
  template: (pod: PodContext) => PodSpec;
  /** Number of pods. Default 2. */
  replicas?: number;
  /** Name prefix of the pods. Default 'pod'. */
  name?: string;
  /** Host the pods listen on. Default '127.0.0.1'. */
  host?: string;
  /** Path of the readiness probe on the admin port. Default '/readyz'. */
  readinessPath?: string;
  /** lifecycle.preStop.sleep. Default 0 ms. */
  preStopSleepMs?: number;
  /** terminationGracePeriodSeconds, in ms. Default 30000 ms. */
  terminationGracePeriodMs?: number;
  /** A new pod that is not routable after this long fails the rollout. Default 30000 ms. */
  readyTimeoutMs?: number;
}

export interface RolloutReport {
  /** Pods deleted by this rollout, with how each one ended. */
  terminations: PodTermination[];
  durationMs: number;
}

/**
 * A Deployment in miniature: N pods behind a LoadBalancer, deleted the way Kubernetes deletes them
 * (endpoint marked terminating and the kubelet's preStop → SIGTERM → grace → SIGKILL, in parallel),
 * and rolled with the default strategy for small replica counts (maxSurge 1, maxUnavailable 0):
 * start a new pod, wait until it receives traffic, delete an old one, repeat. Like the Deployment
 * controller it does not wait for a deleted pod to finish terminating before starting the next one.
 */
export class Deployment {
  readonly loadBalancer: LoadBalancer;
  readonly #options: Required<Omit<DeploymentOptions, 'loadBalancer'>>;
  readonly #pods = new Map<string, Pod>();
  readonly #terminating = new Set<Promise<PodTermination>>();
  #sequence = 0;

  private constructor(options: DeploymentOptions) {
    if (typeof options.template !== 'function')
      throw invalidOption('template', 'must be a function returning the pod process');
    this.loadBalancer = options.loadBalancer;
    this.#options = {
      template: options.template,
      replicas: integerOption('replicas', options.replicas, 2, 1),
      name: options.name ?? 'pod',
      host: options.host ?? '127.0.0.1',
      readinessPath: options.readinessPath ?? '/readyz',
      preStopSleepMs: integerOption('preStopSleepMs', options.preStopSleepMs, 0),
      terminationGracePeriodMs: integerOption(
        'terminationGracePeriodMs',
        options.terminationGracePeriodMs,
        30_000,
        1,
      ),
      readyTimeoutMs: integerOption('readyTimeoutMs', options.readyTimeoutMs, 30_000, 1),
    };
  }

  /** Starts the replicas and resolves once every one receives traffic. */
  static async start(options: DeploymentOptions): Promise<Deployment> {
    const deployment = new Deployment(options);
    try {
      await Promise.all(Array.from({ length: deployment.#options.replicas }, () => deployment.createPod()));
    } catch (error) {
      await deployment.close();
      throw error;
    }
    return deployment;
  }

  /** Pods that are running and not being deleted. */
  get pods(): Pod[] {
    return [...this.#pods.values()];
  }

  /** Starts one more pod and waits until the Service routes to it. */
  async createPod(): Promise<Pod> {
    this.#sequence += 1;
    const id = `${this.#options.name}-${this.#sequence}`;
    const [port, adminPort] = await Promise.all([freePort(), freePort()]);
    const pod = new Pod(id, { port, adminPort }, this.#options.template({ id, port, adminPort }));
    this.#pods.set(id, pod);
    const { host, readinessPath } = this.#options;
    this.loadBalancer.addEndpoint({
      id,
      host,
      port,
      readinessUrl: `http://${host}:${adminPort}${readinessPath}`,
    });
    try {
      await Promise.race([
        this.loadBalancer.waitUntilRoutable(id, this.#options.readyTimeoutMs),
        pod.exited.then((exit) => {
          throw invalidOption(
            `pod ${id}`,
            `exited (code ${exit.code}, signal ${exit.signal}) before becoming ready:\n${pod.output}`,
          );
        }),
      ]);
    } catch (error) {
      this.#pods.delete(id);
      this.loadBalancer.removeEndpoint(id);
      await pod.kill();
      throw error;
    }
    return pod;
  }

  /** Deletes a pod like `kubectl delete pod`: endpoint terminating + kubelet termination, at once. */
  async deletePod(id: string): Promise<PodTermination> {
    const pod = this.#pods.get(id);
    if (!pod) throw invalidOption('pod id', `${id} is not a running pod of this deployment`);
    this.#pods.delete(id);
    this.loadBalancer.markTerminating(id);
    const { preStopSleepMs, terminationGracePeriodMs } = this.#options;
    const termination = pod
      .terminate({ preStopSleepMs, terminationGracePeriodMs })
      .finally(() => this.loadBalancer.removeEndpoint(id));
    this.#terminating.add(termination);
    try {
      return await termination;
    } finally {
      this.#terminating.delete(termination);
    }
  }

  /** `kubectl rollout restart`: replaces every pod, one at a time, never below the replica count. */
  async rollingRestart(): Promise<RolloutReport> {
    const startedAt = performance.now();
    const old = this.pods.map((pod) => pod.id);
    const deletions: Promise<PodTermination>[] = [];
    for (const id of old) {
      await this.createPod();
      deletions.push(this.deletePod(id));
    }
    const terminations = await Promise.all(deletions);
    return { terminations, durationMs: Math.round(performance.now() - startedAt) };
  }

  /** Deletes every pod (gracefully, like scaling to 0) and waits for all terminations. */
  async close(): Promise<PodTermination[]> {
    // deletePod registers its termination synchronously, so the set below holds these deletions too.
    for (const pod of this.pods) void this.deletePod(pod.id);
    return Promise.all([...this.#terminating]);
  }
}
