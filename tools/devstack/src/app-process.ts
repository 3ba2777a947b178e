import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { trackGroup, untrackGroup } from './cleanup.ts';
import { freePort } from './ports.ts';

export interface AppProcess {
  child: ChildProcess;
  port: number;
  adminPort: number;
  /** Everything the app printed so far (stdout and stderr). */
  output(): string;
  /** Resolves once GET <admin>/<probe> answers 200; rejects with the output if the app exits first. */
  ready(probe?: string, timeoutMs?: number): Promise<void>;
  /** Send `signal` and resolve with the exit code (null when killed by a signal). */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** Resolves with the exit code once the app exits on its own. */
  exited(): Promise<number | null>;
}

/**
 * Runs an app's entry point (`apps/<name>/src/main.ts`) as Kubernetes would run the container:
 * its own process, configuration only through the environment, SIGTERM to stop. The app runs in a
 * process group of its own, tracked like the servers: it never outlives its owner, even one killed
 * with SIGKILL (the devstack's watchdog reaps it).
 */
export async function startApp(entry: string, env: Record<string, string | undefined>): Promise<AppProcess> {
  const port = await freePort();
  const adminPort = await freePort();
  const child = spawn(process.execPath, ['--conditions=@tether/source', entry], {
    env: {
      ...process.env,
      PORT: String(port),
      ADMIN_PORT: String(adminPort),
      SHUTDOWN_DRAIN_DELAY_MS: '0',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const pgid = child.pid;
  if (pgid !== undefined) {
    trackGroup(pgid);
    child.once('exit', () => untrackGroup(pgid));
  }
  let output = '';
  for (const stream of [child.stdout, child.stderr]) {
    if (stream) createInterface({ input: stream }).on('line', (line) => (output += `${line}\n`));
  }
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  return {
    child,
    port,
    adminPort,
    output: () => output,
    // Generous: on a loaded CI machine (many suites, two cores) an app's imports alone can take 20 s.
    async ready(probe = '/readyz', timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        if (child.exitCode !== null || child.signalCode !== null)
          throw new Error(`app exited during start-up:\n${output}`);
        try {
          const response = await fetch(`http://127.0.0.1:${adminPort}${probe}`, {
            signal: AbortSignal.timeout(1_000),
          });
          if (response.status === 200) return;
        } catch {
          // not listening yet
        }
        if (Date.now() > deadline) throw new Error(`app not ready within ${timeoutMs} ms:\n${output}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const [code] = await exited;
      return code;
    },
    async exited() {
      const [code] = await exited;
      return code;
    },
  };
}
