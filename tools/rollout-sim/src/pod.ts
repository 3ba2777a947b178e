import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';

export interface PodSpec {
  command: string;
  args?: string[];
  /** Added to the parent's environment (or the whole environment, with `inheritEnv: false`). */
  env?: Record<string, string>;
  cwd?: string;
  /** Start from this process's environment. Default true; false runs with exactly `env`. */
  inheritEnv?: boolean;
}

export interface PodExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface TerminationOptions {
  /** lifecycle.preStop.sleep: wait this long before SIGTERM. Default 0 ms. */
  preStopSleepMs?: number;
  /**
   * lifecycle.preStop.exec: run this command (in the pod's cwd, with `env` or the pod's environment)
   * and send SIGTERM when it exits, whatever its exit code, as the kubelet does. Wins over
   * `preStopSleepMs`. Killed when the grace period runs out.
   */
  preStopExec?: PodSpec;
  /** terminationGracePeriodSeconds in ms, counted from deletion and including preStop; then SIGKILL. Default 30000 ms. */
  terminationGracePeriodMs?: number;
}

export interface PodTermination extends PodExit {
  id: string;
  /** The grace period ran out and the pod was SIGKILLed. */
  killed: boolean;
  /** From deletion to exit. */
  durationMs: number;
  /** From SIGTERM to exit (undefined when the pod exited during preStop). */
  afterSigtermMs?: number;
  /** How long the preStop hook ran (undefined without one, or when it outlived the pod). */
  preStopMs?: number;
}

/** One replica: a child process with its own ports. Its stdout and stderr are kept for assertions. */
export class Pod {
  readonly id: string;
  readonly port: number;
  readonly adminPort: number;
  readonly process: ChildProcess;
  /** Resolves when the process exits (whoever made it exit). */
  readonly exited: Promise<PodExit>;
  #output = '';

  readonly #spec: PodSpec;

  constructor(id: string, ports: { port: number; adminPort: number }, spec: PodSpec) {
    this.id = id;
    this.port = ports.port;
    this.adminPort = ports.adminPort;
    this.#spec = spec;
    this.process = spawn(spec.command, spec.args ?? [], {
      cwd: spec.cwd,
      env: environment(spec),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const collect = (chunk: Buffer): void => {
      this.#output += chunk.toString('utf8');
    };
    this.process.stdout?.on('data', collect);
    this.process.stderr?.on('data', collect);
    this.exited = once(this.process, 'exit').then(([code, signal]) => ({
      code: code as number | null,
      signal: signal as NodeJS.Signals | null,
    }));
  }

  /** Everything the process wrote to stdout and stderr so far. */
  get output(): string {
    return this.#output;
  }

  get running(): boolean {
    return this.process.exitCode === null && this.process.signalCode === null;
  }

  /**
   * The kubelet's half of a pod deletion: preStop sleep, SIGTERM, wait, SIGKILL when the grace period
   * (which includes preStop) runs out. The endpoint half (marking it terminating) is the caller's; see
   * Deployment.deletePod, which does both at the same moment, as Kubernetes does.
   */
  async terminate(options: TerminationOptions = {}): Promise<PodTermination> {
    const graceMs = options.terminationGracePeriodMs ?? 30_000;
    const startedAt = performance.now();
    let sigtermAt: number | undefined;
    let preStopMs: number | undefined;
    let killed = false;
    const hookDeadline = new AbortController();
    const grace = setTimeout(() => {
      hookDeadline.abort();
      if (!this.running) return;
      killed = true;
      this.process.kill('SIGKILL');
    }, graceMs);
    void this.#preStop(options, hookDeadline.signal).then((ran) => {
      if (ran) preStopMs = Math.round(performance.now() - startedAt);
      if (!this.running || hookDeadline.signal.aborted) return;
      sigtermAt = performance.now();
      this.process.kill('SIGTERM');
    });
    const exit = await this.exited;
    clearTimeout(grace);
    hookDeadline.abort();
    const endedAt = performance.now();
    return {
      id: this.id,
      ...exit,
      killed,
      durationMs: Math.round(endedAt - startedAt),
      ...(sigtermAt === undefined ? {} : { afterSigtermMs: Math.round(endedAt - sigtermAt) }),
      ...(preStopMs === undefined ? {} : { preStopMs }),
    };
  }

  /** Runs the preStop hook until it ends or `signal` aborts; true when a hook ran to its end. */
  async #preStop(options: TerminationOptions, signal: AbortSignal): Promise<boolean> {
    const exec = options.preStopExec;
    if (exec) {
      const hook = spawn(exec.command, exec.args ?? [], {
        cwd: exec.cwd ?? this.#spec.cwd,
        env: exec.env ? environment(exec) : environment(this.#spec),
        stdio: 'ignore',
      });
      const abort = (): boolean => hook.kill('SIGKILL');
      signal.addEventListener('abort', abort, { once: true });
      // A hook that cannot start (ENOENT) fails like one that exits non-zero: SIGTERM follows.
      await once(hook, 'exit').catch(() => undefined);
      signal.removeEventListener('abort', abort);
      return !signal.aborted;
    }
    const sleepMs = options.preStopSleepMs ?? 0;
    if (sleepMs === 0) return false;
    try {
      await sleep(sleepMs, undefined, { signal });
      return true;
    } catch {
      return false;
    }
  }

  /** SIGKILL now (test cleanup). */
  async kill(): Promise<PodExit> {
    if (this.running) this.process.kill('SIGKILL');
    return this.exited;
  }
}

function environment(spec: PodSpec): NodeJS.ProcessEnv {
  return spec.inheritEnv === false ? { ...spec.env } : { ...process.env, ...spec.env };
}
