/**
 * The whole platform for a benchmark, as `npm start` runs it: the devstack CLI (ephemeral Postgres
 * and Redis, migrations, api + worker + ws-gateway, restarts) on free ports, found through the
 * `stack.json` it writes (the contract in docs/architecture.md). Stopped with SIGTERM, which goes
 * through every app's graceful path; the CLI also stops itself if this process dies.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

/** The fields of `stack.json` a benchmark uses. */
export interface StackDescription {
  api: string;
  ws: string;
  databaseUrl: string;
  redisUrl: string;
  token: string;
}

export interface RunningStack {
  description: StackDescription;
  /** the stack CLI's output so far (for a failure message) */
  output(): string;
  stop(): Promise<void>;
}

const cli = fileURLToPath(new URL('../../devstack/src/cli.ts', import.meta.url));

/** Starts the stack and resolves once every app is ready (stack.json written), or rejects with its output. */
export async function startStackProcess(
  env: Record<string, string> = {},
  timeoutMs = 120_000,
): Promise<RunningStack> {
  const stateDir = mkdtempSync(join(tmpdir(), 'tether-bench-stack-'));
  const child: ChildProcess = spawn(
    process.execPath,
    ['--conditions=@tether/source', cli, 'up', '--free-ports', '--state-dir', stateDir],
    { env: { ...process.env, LOG_LEVEL: 'warn', ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = once(child, 'exit');
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(stateDir, { recursive: true, force: true });
  };
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      await stop();
      throw new Error(`the stack exited during start-up:\n${output}`);
    }
    try {
      const description = JSON.parse(readFileSync(join(stateDir, 'stack.json'), 'utf8')) as StackDescription;
      return { description, output: () => output, stop };
    } catch {
      // not written yet (it is written atomically once every app is ready)
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`the stack was not up within ${timeoutMs} ms:\n${output}`);
    }
    await sleep(100);
  }
}
