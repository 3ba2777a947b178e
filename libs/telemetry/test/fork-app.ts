import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import type { PlainSpan } from './fixtures/telemetry-first.ts';

export interface App {
  child: ChildProcess;
  /** The first IPC message (the fixture's `{ port }` or `{ ready }`). */
  ready: Record<string, unknown>;
  spans(): Promise<PlainSpan[]>;
  stderr(): string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Runs a fixture app in a real Node process (ESM, type stripping), exactly as an app runs. */
export async function forkApp(
  fixture: string,
  env: Record<string, string>,
  options: { execArgv?: string[]; timeoutMs?: number } = {},
): Promise<App> {
  // Start-up is about a second of CPU, but the shared machine can take far longer to give it.
  const timeoutMs = options.timeoutMs ?? 90_000;
  const child = fork(join(import.meta.dirname, 'fixtures', fixture), [], {
    execArgv: ['--conditions=@tether/source', ...(options.execArgv ?? [])],
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout?.resume();
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const first = await Promise.race([
    once(child, 'message').then(([m]) => m as Record<string, unknown>),
    once(child, 'exit').then(([code]) => {
      throw new Error(`${fixture} exited with ${code} before it was ready:\n${stderr}`);
    }),
  ]).finally(() => clearTimeout(timer));
  return {
    child,
    ready: first,
    stderr: () => stderr,
    async spans() {
      const reply = once(child, 'message');
      child.send('spans');
      const [message] = await reply;
      return (message as { spans: PlainSpan[] }).spans;
    },
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      const exited = once(child, 'exit');
      child.kill(signal);
      const [code] = await exited;
      return code as number | null;
    },
  };
}

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
