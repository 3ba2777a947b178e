import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { killGroup, trackGroup, untrackGroup } from './cleanup.ts';
import { DevstackError } from './errors.ts';

export interface SpawnSpec {
  command: string;
  args: string[];
  uid?: number;
  gid?: number;
  cwd?: string;
}

/**
 * One long-running server process in its own process group, so that kill/pause reach its children
 * too (Postgres backends). Keeps the last lines of its output for error messages.
 */
export class ServerProcess {
  private child: ChildProcess | undefined;
  private output: string[] = [];
  private exitPromise: Promise<void> | undefined;

  private readonly name: string;
  private readonly spec: SpawnSpec;

  constructor(name: string, spec: SpawnSpec) {
    this.name = name;
    this.spec = spec;
  }

  get pid(): number | undefined {
    return this.child?.exitCode === null && this.child.signalCode === null ? this.child.pid : undefined;
  }

  get running(): boolean {
    return this.pid !== undefined;
  }

  recentOutput(): string {
    return this.output.join('').split('\n').slice(-20).join('\n');
  }

  start(): void {
    if (this.running) return;
    const child = spawn(this.spec.command, this.spec.args, {
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(this.spec.uid === undefined ? {} : { uid: this.spec.uid, gid: this.spec.gid }),
      ...(this.spec.cwd === undefined ? {} : { cwd: this.spec.cwd }),
    });
    const remember = (chunk: Buffer) => {
      this.output.push(chunk.toString());
      if (this.output.length > 200) this.output.splice(0, 100);
    };
    child.stdout?.on('data', remember);
    child.stderr?.on('data', remember);
    if (child.pid === undefined)
      throw new DevstackError('TETHER_DEVSTACK_SPAWN', `${this.name}: could not spawn ${this.spec.command}`);
    const pgid = child.pid;
    trackGroup(pgid);
    this.exitPromise = once(child, 'exit').then(() => {
      // The group leader is gone; reap anything it left behind (orphaned Postgres backends).
      killGroup(pgid, 'SIGCONT');
      killGroup(pgid, 'SIGKILL');
      untrackGroup(pgid);
    });
    this.child = child;
  }

  /**
   * Ask the server to stop with `signal` (sent to the server process only, as an operator would),
   * SIGKILL everything after `timeoutMs`; resolves when it has exited. SIGKILL goes to every process.
   */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 10_000): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    killGroup(child.pid as number, 'SIGCONT');
    if (signal === 'SIGKILL') killGroup(child.pid as number, signal);
    else child.kill(signal);
    const timer = setTimeout(() => killGroup(child.pid as number, 'SIGKILL'), timeoutMs);
    await this.exitPromise;
    clearTimeout(timer);
  }

  /** SIGKILL the whole group at once: a crash, not a shutdown. */
  async kill(): Promise<void> {
    await this.stop('SIGKILL');
  }

  pause(): void {
    if (this.child?.pid) killGroup(this.child.pid, 'SIGSTOP');
  }

  resume(): void {
    if (this.child?.pid) killGroup(this.child.pid, 'SIGCONT');
  }

  /** Resolves when the process exits; rejects nothing. */
  exited(): Promise<void> {
    return this.exitPromise ?? Promise.resolve();
  }
}
