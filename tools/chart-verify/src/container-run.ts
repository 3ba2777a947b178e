/**
 * Runs a rendered container spec as a local process, the way its image would run it: the image's
 * ENTRYPOINT (`node --conditions=@tether/source`) and WORKDIR (the workspace folder), the
 * container's args or the image's CMD, and exactly the environment the pod spec gives it —
 * secretKeyRef resolved from a map, fieldRef from a fake pod.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import type { Container } from './manifests.ts';

/** docker/Dockerfile's ENTRYPOINT and CMD; image.test.ts checks the Dockerfile says the same. */
export const imageEntrypoint = ['node', '--conditions=@tether/source'];
export const imageCmd = ['src/main.ts'];

export interface FakePod {
  name: string;
  namespace: string;
  uid: string;
  nodeName: string;
}

const defaultPod: FakePod = {
  name: 'rel-api-7d9f-abcde',
  namespace: 'tether',
  uid: '00000000-0000-4000-8000-000000000001',
  nodeName: 'node-a',
};

export function containerEnv(
  container: Container,
  secrets: Record<string, string>,
  pod: FakePod = defaultPod,
): Record<string, string> {
  const fields: Record<string, string> = {
    'metadata.name': pod.name,
    'metadata.namespace': pod.namespace,
    'metadata.uid': pod.uid,
    'spec.nodeName': pod.nodeName,
  };
  const env: Record<string, string> = {};
  for (const variable of container.env ?? []) {
    const ref = variable.valueFrom;
    if (ref?.secretKeyRef) {
      const value = secrets[ref.secretKeyRef.key];
      if (value === undefined)
        throw new Error(`secret key ${ref.secretKeyRef.key} (for ${variable.name}) not provided`);
      env[variable.name] = value;
    } else if (ref?.fieldRef) {
      const value = fields[ref.fieldRef.fieldPath];
      if (value === undefined) throw new Error(`fieldRef ${ref.fieldRef.fieldPath} not supported`);
      env[variable.name] = value;
    } else {
      env[variable.name] = variable.value ?? '';
    }
  }
  return env;
}

export interface RunningContainer {
  child: ChildProcess;
  output(): string;
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * `root` is the image's /app (the repository itself, or an assembled image layout); `workspace`
 * its WORKDIR below it (apps/api, libs/migrations).
 */
export function runContainer(
  container: Container,
  options: {
    root: string;
    workspace: string;
    secrets: Record<string, string>;
    nodePath?: string;
    /** Run as this uid/gid (the image's `USER 1000:1000`); needs root. Default: this process's. */
    user?: { uid: number; gid: number };
  },
): RunningContainer {
  const [, ...nodeFlags] = imageEntrypoint;
  if (container.command && container.command[0] !== 'node')
    throw new Error(`command ${container.command[0]} is not node`);
  // A pod's `command` replaces the image's ENTRYPOINT, its `args` the CMD.
  const args = container.command
    ? [...container.command.slice(1), ...(container.args ?? [])]
    : [...nodeFlags, ...(container.args ?? imageCmd)];
  const child = spawn(options.nodePath ?? process.execPath, args, {
    cwd: join(options.root, options.workspace),
    // Nothing from this process's environment but PATH: the pod spec is the whole configuration.
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...containerEnv(container, options.secrets) },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...options.user,
  });
  let output = '';
  child.stdout?.on('data', (chunk) => (output += chunk));
  child.stderr?.on('data', (chunk) => (output += chunk));
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  return {
    child,
    output: () => output,
    exited,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** Polls GET http://127.0.0.1:<port><path> until it answers `status`; rejects with the output on timeout or exit. */
export async function waitForStatus(
  running: RunningContainer,
  url: string,
  status = 200,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (running.child.exitCode !== null)
      throw new Error(`exited with ${running.child.exitCode} before ${url} answered:\n${running.output()}`);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      await response.arrayBuffer();
      if (response.status === status) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline)
      throw new Error(`${url} did not answer ${status} within ${timeoutMs} ms:\n${running.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
