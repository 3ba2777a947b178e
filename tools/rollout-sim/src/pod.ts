import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';

export interface PodSpec {
  command: string;
  args?: string[];
  /** Added to the parent's environment. */
  env?: Record<string, string>;
  cwd?: string;
}

export interface PodExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface TerminationOptions {
  /** lifecycle.preStop.sleep: wait this long before SIGTERM. Default 0 ms. */
  preStopSleepMs?: number;
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

  constructor(id: string, ports: { port: number; adminPort: number }, spec: PodSpec) {
    this.id = id;
    this.port = ports.port;
    this.adminPort = ports.adminPort;
    this.process = spawn(spec.command, spec.args ?? [], {
      cwd: spec.cwd,
      env: { ...process.env, ...spec.env },
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
    const preStopSleepMs = options.preStopSleepMs ?? 0;
    const graceMs = options.terminationGracePeriodMs ?? 30_000;
    const startedAt = performance.now();
    let sigtermAt: number | undefined;
    let killed = false;
    const grace = setTimeout(() => {
      if (!this.running) return;
      killed = true;
      this.process.kill('SIGKILL');
    }, graceMs);
    const preStop = setTimeout(
      () => {
        if (!this.running) return;
        sigtermAt = performance.now();
        this.process.kill('SIGTERM');
      },
      Math.min(preStopSleepMs, graceMs),
    );
    const exit = await this.exited;
    clearTimeout(grace);
    clearTimeout(preStop);
    const endedAt = performance.now();
    return {
      id: this.id,
      ...exit,
      killed,
      durationMs: Math.round(endedAt - startedAt),
      ...(sigtermAt === undefined ? {} : { afterSigtermMs: Math.round(endedAt - sigtermAt) }),
    };
  }

  /** SIGKILL now (test cleanup). */
  async kill(): Promise<PodExit> {
    if (this.running) this.process.kill('SIGKILL');
    return this.exited;
  }
}
