import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { request, type Agent } from 'node:http';
import { freePort } from '@tether/devstack';

export interface FixtureProcess {
  child: ChildProcess;
  port: number;
  adminPort: number;
  /** stdout + stderr so far. */
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Node 24 runs the .ts fixture directly; the condition makes @tether/shutdown resolve to its source. */
export function fixtureCommand(name: string): { command: string; args: string[] } {
  return {
    command: process.execPath,
    args: ['--conditions=@tether/source', new URL(`../fixtures/${name}.ts`, import.meta.url).pathname],
  };
}

/** Starts a fixture and resolves once it printed "listening" (its admin server is up). */
export async function startFixture(name: string, env: Record<string, string> = {}): Promise<FixtureProcess> {
  const [port, adminPort] = await Promise.all([freePort(), freePort()]);
  const { command, args } = fixtureCommand(name);
  const child = spawn(command, args, {
    env: { ...process.env, PORT: String(port), ADMIN_PORT: String(adminPort), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = once(child, 'exit').then(([code, signal]) => ({
    code: code as number | null,
    signal: signal as NodeJS.Signals | null,
  }));
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      if (output.includes('listening')) resolve();
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    void exited.then((exit) =>
      reject(new Error(`fixture ${name} exited early (${JSON.stringify(exit)}):\n${output}`)),
    );
  });
  return { child, port, adminPort, output: () => output, exited };
}

export interface HttpResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  ms: number;
}

/** One GET on a fresh connection (no agent); timing measured around it. */
export function get(url: string, agent: Agent | false = false): Promise<HttpResult> {
  const startedAt = performance.now();
  return new Promise((resolve, reject) => {
    request(url, { agent }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body,
          ms: performance.now() - startedAt,
        }),
      );
    })
      .once('error', reject)
      .end();
  });
}
