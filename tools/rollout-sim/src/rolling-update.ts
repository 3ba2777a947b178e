import { setTimeout as sleep } from 'node:timers/promises';
import { RolloutSimError, integerOption, invalidOption } from './errors.ts';
import { KubeletPod, type KubeletPodOptions } from './kubelet.ts';
import type { LoadBalancer } from './load-balancer.ts';
import type { PodTermination } from './pod.ts';
import { Timeline } from './timeline.ts';

/** What the pod template gives one new pod: the kubelet's settings and where the Service forwards to. */
export interface RollingPodTemplate {
  pod: Omit<KubeletPodOptions, 'id' | 'timeline' | 'onReadyChange'>;
  /** The endpoint address: the container's (remapped) target port. */
  endpoint: { host: string; port: number };
}

export interface RollingDeploymentOptions {
  loadBalancer: LoadBalancer;
  /** Builds pod `id` (async: it may allocate ports). */
  template: (id: string) => Promise<RollingPodTemplate> | RollingPodTemplate;
  /** spec.replicas. */
  replicas: number;
  /** strategy.rollingUpdate.maxSurge, resolved to a pod count. */
  maxSurge: number;
  /** strategy.rollingUpdate.maxUnavailable, resolved to a pod count. */
  maxUnavailable: number;
  /** spec.minReadySeconds in ms. Default 0. */
  minReadyMs?: number;
  /** spec.progressDeadlineSeconds in ms: a rollout that makes no progress this long fails. Default 600000 ms. */
  progressDeadlineMs?: number;
  /** Pod name prefix. Default 'pod'. */
  name?: string;
  /** Where lifecycle events go. Default: a new Timeline. */
  timeline?: Timeline;
}

export interface RollingPodRecord {
  id: string;
  revision: number;
  /** From creation to the first ready, ms (undefined if never ready). */
  timeToReadyMs?: number;
  restarts: number;
  termination?: PodTermination;
}

const tickMs = 50;

/**
 * The Deployment controller's RollingUpdate strategy over KubeletPods: a new revision scales up
 * (never above replicas + maxSurge pods) and the old one down (never below replicas - maxUnavailable
 * available pods), unavailable old pods first. Pods being deleted count for neither, as in
 * Kubernetes: the controller does not wait for them to finish terminating. A pod is available
 * when ready for minReadyMs. Each deletion marks the endpoint terminating and starts the kubelet's
 * termination at the same moment.
 */
export class RollingDeployment {
  readonly loadBalancer: LoadBalancer;
  readonly timeline: Timeline;
  readonly #options: Required<Omit<RollingDeploymentOptions, 'loadBalancer' | 'timeline'>>;
  readonly #pods = new Map<string, { pod: KubeletPod; revision: number }>();
  readonly #records = new Map<string, RollingPodRecord>();
  readonly #terminations = new Set<Promise<PodTermination>>();
  readonly #deleting = new Set<KubeletPod>();
  readonly #routable = new Map<string, boolean>();
  readonly #onChange: (status: { id: string; routable: boolean }) => void;
  #revision = 0;
  #sequence = 0;

  private constructor(options: RollingDeploymentOptions) {
    if (typeof options.template !== 'function')
      throw invalidOption('template', 'must be a function returning the pod template');
    const replicas = integerOption('replicas', options.replicas, 1, 1);
    const maxSurge = integerOption('maxSurge', options.maxSurge, 0);
    const maxUnavailable = integerOption('maxUnavailable', options.maxUnavailable, 0);
    if (maxSurge === 0 && maxUnavailable === 0)
      throw invalidOption('maxSurge and maxUnavailable', 'may not both be 0 (Kubernetes refuses it)');
    this.loadBalancer = options.loadBalancer;
    this.timeline = options.timeline ?? new Timeline();
    this.#options = {
      template: options.template,
      replicas,
      maxSurge,
      maxUnavailable,
      minReadyMs: integerOption('minReadyMs', options.minReadyMs, 0),
      progressDeadlineMs: integerOption('progressDeadlineMs', options.progressDeadlineMs, 600_000, 1),
      name: options.name ?? 'pod',
    };
    this.#onChange = ({ id, routable }) => {
      if (!this.#records.has(id) || this.#routable.get(id) === routable) return;
      this.#routable.set(id, routable);
      this.timeline.record(id, routable ? 'routable' : 'unroutable');
    };
    this.loadBalancer.on('change', this.#onChange);
  }

  /** Creates the replicas and resolves once all are available. */
  static async start(options: RollingDeploymentOptions): Promise<RollingDeployment> {
    const deployment = new RollingDeployment(options);
    try {
      await deployment.#converge();
    } catch (error) {
      await deployment.close();
      throw error;
    }
    return deployment;
  }

  /** Pods not being deleted. */
  get pods(): KubeletPod[] {
    return [...this.#pods.values()].map((p) => p.pod);
  }

  /** Every pod this Deployment made, with time to ready, restarts and how it ended. */
  get records(): RollingPodRecord[] {
    return [...this.#records.values()];
  }

  /** A new revision (`kubectl rollout restart`): resolves when every pod is new and available. */
  async rollout(): Promise<void> {
    this.#revision += 1;
    this.timeline.record('', 'rollout-started', `revision ${this.#revision}`);
    await this.#converge();
    this.timeline.record('', 'rollout-done', `revision ${this.#revision}`);
  }

  /** Waits for every pod deleted so far to finish terminating. */
  async settled(): Promise<PodTermination[]> {
    return Promise.all([...this.#terminations]);
  }

  /** Deletes every pod gracefully and waits for all terminations. */
  async close(): Promise<void> {
    for (const id of [...this.#pods.keys()]) this.#delete(id);
    await this.settled();
    this.loadBalancer.off('change', this.#onChange);
  }

  /** SIGKILLs every pod still running, terminating ones included (cleanup after a failure). */
  async kill(): Promise<void> {
    const all = [...this.#pods.values()].map(({ pod }) => pod).concat([...this.#deleting]);
    await Promise.all(all.map((pod) => pod.kill()));
  }

  /** SIGKILLs every process at once, synchronously: for a `process.on('exit')` handler. */
  killNow(): void {
    const all = [...this.#pods.values()].map(({ pod }) => pod).concat([...this.#deleting]);
    for (const pod of all) if (pod.container.running) pod.container.process.kill('SIGKILL');
  }

  #available(pod: KubeletPod): boolean {
    return (
      pod.ready && pod.readyAt !== undefined && performance.now() - pod.readyAt >= this.#options.minReadyMs
    );
  }

  async #converge(): Promise<void> {
    const { replicas, maxSurge, maxUnavailable, progressDeadlineMs } = this.#options;
    let lastProgress = performance.now();
    let lastState = '';
    for (;;) {
      const all = [...this.#pods.values()];
      const current = all.filter((p) => p.revision === this.#revision);
      const old = all.filter((p) => p.revision !== this.#revision);
      const available = all.filter((p) => this.#available(p.pod)).length;
      if (old.length === 0 && current.length === replicas && current.every((p) => this.#available(p.pod)))
        return;
      let total = all.length;
      let created = current.length;
      while (total < replicas + maxSurge && created < replicas) {
        await this.#create();
        total += 1;
        created += 1;
      }
      // The controller's two scale-down steps: unavailable old pods first, as far as total pods may
      // shrink; then available ones, as far as availability may.
      const minAvailable = replicas - maxUnavailable;
      const newUnavailable = current.filter((p) => !this.#available(p.pod)).length;
      let maxScaledDown = total - minAvailable - newUnavailable;
      for (const { pod } of old.filter((p) => !this.#available(p.pod))) {
        if (maxScaledDown <= 0) break;
        this.#delete(pod.id);
        maxScaledDown -= 1;
      }
      let canRemove = available - minAvailable;
      for (const { pod } of old.filter((p) => this.#available(p.pod))) {
        if (canRemove <= 0) break;
        this.#delete(pod.id);
        canRemove -= 1;
      }
      const state = [...this.#pods.values()].map((p) => `${p.pod.id}:${this.#available(p.pod)}`).join();
      if (state !== lastState) {
        lastState = state;
        lastProgress = performance.now();
      } else if (performance.now() - lastProgress > progressDeadlineMs) {
        const stuck = [...this.#pods.values()].find((p) => !p.pod.ready)?.pod;
        throw new RolloutSimError(
          'TETHER_ROLLOUT_NOT_READY',
          `rollout made no progress for ${progressDeadlineMs} ms` +
            (stuck ? `; pod ${stuck.id} is not ready (restarts ${stuck.restarts}):\n${stuck.output}` : ''),
        );
      }
      await sleep(tickMs);
    }
  }

  async #create(): Promise<void> {
    this.#sequence += 1;
    const id = `${this.#options.name}-${this.#revision}-${this.#sequence}`;
    const { pod: spec, endpoint } = await this.#options.template(id);
    this.#records.set(id, { id, revision: this.#revision, restarts: 0 });
    this.#routable.set(id, false);
    this.loadBalancer.addEndpoint({ id, ...endpoint });
    const pod = new KubeletPod({
      ...spec,
      id,
      timeline: this.timeline,
      onReadyChange: (ready) => {
        if (pod.terminating) return;
        this.loadBalancer.setReady(id, ready);
        const record = this.#records.get(id);
        if (ready && record && record.timeToReadyMs === undefined)
          record.timeToReadyMs = Math.round(performance.now() - pod.createdAt);
      },
    });
    this.#pods.set(id, { pod, revision: this.#revision });
  }

  #delete(id: string): void {
    const entry = this.#pods.get(id);
    if (!entry) return;
    this.#pods.delete(id);
    this.loadBalancer.markTerminating(id);
    this.#deleting.add(entry.pod);
    const termination = entry.pod.terminate().then((t) => {
      const record = this.#records.get(id);
      if (record) {
        record.termination = t;
        record.restarts = entry.pod.restarts;
      }
      return t;
    });
    const tracked = termination.finally(() => {
      this.#deleting.delete(entry.pod);
      this.loadBalancer.removeEndpoint(id);
      this.#terminations.delete(tracked);
    });
    this.#terminations.add(tracked);
  }
}
