import { Pod, type PodSpec, type PodTermination } from './pod.ts';
import { HttpProber, type ProbeSettings } from './prober.ts';
import type { Timeline } from './timeline.ts';

/** An httpGet probe of the container, with its timings in ms. */
export interface HttpGetProbe extends ProbeSettings {
  path: string;
  /** The (remapped) local port the probe targets. */
  port: number;
  /** Default '127.0.0.1'. */
  host?: string;
}

/** lifecycle.preStop: `sleep` (native action) or `exec` (a command run in the container's environment). */
export type PreStopHook = { sleepMs: number } | { exec: PodSpec };

export interface KubeletPodOptions {
  /** Pod name. */
  id: string;
  /** The container's process. */
  container: PodSpec;
  /** The container's traffic port (recorded on the Pod; forwarding is the Service's). */
  port: number;
  startupProbe?: HttpGetProbe;
  readinessProbe?: HttpGetProbe;
  livenessProbe?: HttpGetProbe;
  preStop?: PreStopHook;
  /** terminationGracePeriodSeconds in ms (includes preStop); then SIGKILL. */
  terminationGracePeriodMs: number;
  /** First restart delay after the container exits or fails liveness; doubles up to 300 s. Default 10000 ms. */
  restartBackoffMs?: number;
  /** Called whenever the pod's readiness changes. */
  onReadyChange?: (ready: boolean) => void;
  timeline?: Timeline;
}

const maxBackoffMs = 300_000;

/**
 * The kubelet's view of a one-container pod with `restartPolicy: Always`: starts the process, runs
 * the startup probe, then readiness and liveness (readiness keeps running during termination,
 * liveness and startup stop); a failed startup or liveness probe kills the container the graceful
 * way (preStop, SIGTERM, grace, SIGKILL) and restarts it; a container that exits is restarted
 * after a doubling back-off (CrashLoopBackOff). Without a readiness probe the pod is ready once
 * started.
 */
export class KubeletPod {
  readonly id: string;
  readonly createdAt = performance.now();
  /** When the pod first became ready (performance.now()), if it did. */
  readyAt: number | undefined;
  restarts = 0;
  readonly #options: KubeletPodOptions;
  #pod!: Pod;
  #probers: HttpProber[] = [];
  #readiness: HttpProber | undefined;
  #ready = false;
  #terminating = false;
  #restartTimer: NodeJS.Timeout | undefined;
  #killing: Promise<unknown> | undefined;
  #output = '';

  constructor(options: KubeletPodOptions) {
    this.id = options.id;
    this.#options = options;
    this.#record('created');
    this.#startContainer();
  }

  get ready(): boolean {
    return this.#ready;
  }

  get terminating(): boolean {
    return this.#terminating;
  }

  /** Output of every container run so far. */
  get output(): string {
    return this.#output + this.#pod.output;
  }

  /** The current container process. */
  get container(): Pod {
    return this.#pod;
  }

  /**
   * The kubelet's half of a pod deletion: liveness and startup stop, preStop runs, then SIGTERM, and
   * SIGKILL when the grace period runs out. The Service's half (terminating) is the caller's.
   */
  async terminate(): Promise<PodTermination> {
    this.#terminating = true;
    this.#record('terminating');
    clearTimeout(this.#restartTimer);
    for (const prober of this.#probers) if (prober !== this.#readiness) prober.stop();
    await this.#killing;
    const termination = await this.#pod.terminate(this.#terminationOptions());
    this.#stopProbes();
    this.#setReady(false);
    this.#recordTermination(termination);
    return termination;
  }

  /** SIGKILL now, no restart (cleanup). */
  async kill(): Promise<void> {
    this.#terminating = true;
    clearTimeout(this.#restartTimer);
    this.#stopProbes();
    await this.#pod.kill();
  }

  #startContainer(): void {
    const o = this.#options;
    if (this.#pod) this.#output += this.#pod.output;
    const pod = new Pod(o.id, { port: o.port, adminPort: o.readinessProbe?.port ?? o.port }, o.container);
    this.#pod = pod;
    this.#record('started', this.restarts > 0 ? `restart ${this.restarts}` : undefined);
    void pod.exited.then((exit) => this.#onExit(pod, exit.code, exit.signal));
    if (o.startupProbe) {
      const startup = this.#probe(o.startupProbe, (ok) => {
        startup.stop();
        if (ok) {
          this.#record('startup-passed');
          this.#startRunningProbes();
        } else {
          this.#record('startup-failed');
          this.#restart();
        }
      });
    } else this.#startRunningProbes();
  }

  #startRunningProbes(): void {
    const o = this.#options;
    if (o.readinessProbe) this.#readiness = this.#probe(o.readinessProbe, (ok) => this.#setReady(ok));
    else this.#setReady(true);
    if (o.livenessProbe)
      this.#probe(o.livenessProbe, (ok) => {
        if (ok || this.#terminating) return;
        this.#record('liveness-failed');
        this.#restart();
      });
  }

  #probe(probe: HttpGetProbe, onChange: (ok: boolean) => void): HttpProber {
    const url = `http://${probe.host ?? '127.0.0.1'}:${probe.port}${probe.path}`;
    // Like the kubelet, the first probe comes after initialDelaySeconds (0 by default).
    const prober = new HttpProber(url, { ...probe, initialDelayMs: probe.initialDelayMs ?? 0 }, onChange);
    this.#probers.push(prober);
    return prober;
  }

  #stopProbes(): void {
    for (const prober of this.#probers) prober.stop();
    this.#probers = [];
    this.#readiness = undefined;
  }

  #setReady(ready: boolean): void {
    if (ready && this.#terminating && !this.#readiness) return;
    if (this.#ready === ready) return;
    this.#ready = ready;
    if (ready && this.readyAt === undefined) this.readyAt = performance.now();
    this.#record(ready ? 'ready' : 'unready');
    this.#options.onReadyChange?.(ready);
  }

  /** Kills the container gracefully (failed startup or liveness probe), then restarts it. */
  #restart(): void {
    this.#stopProbes();
    this.#setReady(false);
    this.#killing = this.#pod.terminate(this.#terminationOptions());
  }

  #onExit(pod: Pod, code: number | null, signal: NodeJS.Signals | null): void {
    if (pod !== this.#pod || this.#terminating) return;
    this.#record('exited', `code ${code}, signal ${signal}`);
    this.#stopProbes();
    this.#setReady(false);
    const backoffMs = Math.min((this.#options.restartBackoffMs ?? 10_000) * 2 ** this.restarts, maxBackoffMs);
    this.restarts += 1;
    this.#record('restarting', `in ${backoffMs} ms`);
    this.#restartTimer = setTimeout(() => {
      this.#killing = undefined;
      if (!this.#terminating) this.#startContainer();
    }, backoffMs);
  }

  #terminationOptions() {
    const { preStop, terminationGracePeriodMs } = this.#options;
    if (!preStop) return { terminationGracePeriodMs };
    return 'exec' in preStop
      ? { preStopExec: preStop.exec, terminationGracePeriodMs }
      : { preStopSleepMs: preStop.sleepMs, terminationGracePeriodMs };
  }

  #recordTermination(t: PodTermination): void {
    const timeline = this.#options.timeline;
    if (!timeline) return;
    const end = performance.now();
    const start = end - t.durationMs;
    if (t.preStopMs !== undefined) timeline.record(this.id, 'prestop-done', undefined, start + t.preStopMs);
    if (t.afterSigtermMs !== undefined)
      timeline.record(this.id, 'sigterm', undefined, end - t.afterSigtermMs);
    timeline.record(
      this.id,
      'terminated',
      `${t.killed ? 'SIGKILL after grace period' : `exit code ${t.code}, signal ${t.signal}`}`,
      end,
    );
  }

  #record(kind: Parameters<Timeline['record']>[1], detail?: string): void {
    this.#options.timeline?.record(this.id, kind, detail);
  }
}
