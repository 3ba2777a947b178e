import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isAlive } from '../src/index.ts';
import type { StackDescription } from '../src/stack.ts';

const workspaceRoot = new URL('../../..', import.meta.url).pathname;

async function waitFor<T>(probe: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** `npm start` (the README's command) in its own process group, like a terminal's foreground job. */
function npmStart(stateDir: string): { child: ChildProcess; output: () => string } {
  const env = { ...process.env };
  delete env.DATABASE_URL;
  delete env.REDIS_URL;
  const child = spawn('npm', ['start', '--', '--free-ports', '--state-dir', stateDir], {
    cwd: workspaceRoot,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  child.stdout?.on('data', (d) => (output += d));
  child.stderr?.on('data', (d) => (output += d));
  return { child, output: () => output };
}

// Generous: on a loaded machine three apps' imports alone can take most of a minute.
const STACK_UP_MS = 120_000;

describe.each([
  { how: 'Ctrl-C (SIGINT to the foreground process group)', signal: 'SIGINT' as const, group: true },
  { how: 'SIGTERM to npm', signal: 'SIGTERM' as const, group: false },
])('npm start, stopped by $how', ({ signal, group }) => {
  const stateDir = mkdtempSync(join(tmpdir(), 'tether-stack-test-'));
  let child: ChildProcess | undefined;
  let output: () => string = () => '';
  afterAll(() => {
    try {
      process.kill(-(child?.pid as number), 'SIGKILL');
    } catch {
      // the group is gone, as it should be
    }
    rmSync(stateDir, { recursive: true, force: true });
  });

  it(
    'brings up Postgres, Redis, migrations and the three apps, then stops every process within 10 s',
    async () => {
      const started = npmStart(stateDir);
      child = started.child;
      output = started.output;
      const stackFile = join(stateDir, 'stack.json');
      const stack = await waitFor(
        () =>
          existsSync(stackFile)
            ? (JSON.parse(readFileSync(stackFile, 'utf8')) as StackDescription)
            : undefined,
        STACK_UP_MS,
        'stack.json',
      ).catch((error: Error) => {
        throw new Error(`${error.message}\n${output()}`);
      });

      expect(Object.keys(stack).sort()).toEqual([
        'admin',
        'api',
        'console',
        'databaseUrl',
        'pids',
        'redisUrl',
        'token',
        'ws',
      ]);
      expect(stack.api).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(stack.ws).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/v1\/stream$/);
      expect(stack.console).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/?$/);
      expect(stack.databaseUrl).toMatch(/^postgres:\/\//);
      expect(stack.redisUrl).toMatch(/^redis:\/\//);
      expect(stack.token.split('.')).toHaveLength(3);
      for (const admin of Object.values(stack.admin)) {
        const response = await fetch(`${admin}/readyz`);
        expect(response.status).toBe(200);
      }
      // The public port answers (401 without a token: never a 5xx), /metrics is Prometheus text,
      // and that request's server span reaches the local trace sink once the app flushes at shutdown.
      const publicStatus = (await fetch(`${stack.api}/v1/jobs`)).status;
      expect(publicStatus).toBe(401);
      const metrics = await fetch(`${stack.admin.api}/metrics`);
      expect(metrics.status).toBe(200);
      expect(metrics.headers.get('content-type')).toMatch(/^text\/plain/);
      const pids = Object.values(stack.pids);
      expect(pids).toHaveLength(5);
      for (const pid of pids) expect(isAlive(pid)).toBe(true);
      expect(output()).not.toContain(new URL(stack.databaseUrl).password);

      const stoppedAt = Date.now();
      process.kill(group ? -(child.pid as number) : (child.pid as number), signal);
      const [code, exitSignal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
      // npm re-raises the signal it was stopped by (a shell then shows 130), or exits 0.
      expect(code === 0 || exitSignal === signal, `npm exited with ${code ?? exitSignal}`).toBe(true);
      // npm may return before its child finishes the graceful stop: what counts is that every process
      // is gone within 10 s of the signal.
      const everything = [...pids, child.pid as number];
      const done = () => !everything.some(isAlive) && /stopped in \d+ ms/.test(output());
      await waitFor(
        () => (done() ? true : undefined),
        10_000 - (Date.now() - stoppedAt),
        'every process to exit',
      ).catch(() => {
        throw new Error(
          `still running 10 s after ${signal}: ${everything.filter(isAlive).join(', ')}\n${output()}`,
        );
      });
      expect(Date.now() - stoppedAt).toBeLessThan(10_000);
      // Each app went through its own graceful path (@tether/shutdown logs the outcome).
      for (const app of ['api', 'worker', 'wsGateway'])
        expect(output()).toMatch(new RegExp(`\\[${app}\\] .*shutdown complete`));
      expect(existsSync(stackFile)).toBe(false);
      const spans = readFileSync(join(stateDir, 'traces.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map(
          (line) =>
            JSON.parse(line) as { service: string; kind: number; attributes: Record<string, unknown> },
        );
      expect(
        spans.some(
          (span) =>
            span.service === 'tether-api' &&
            span.kind === 2 &&
            span.attributes['http.response.status_code'] === publicStatus,
        ),
      ).toBe(true);
    },
    STACK_UP_MS + 30_000,
  );
});

describe('npm start, when an app dies on its own', () => {
  const stateDir = mkdtempSync(join(tmpdir(), 'tether-stack-restart-test-'));
  let child: ChildProcess | undefined;
  let output: () => string = () => '';
  afterAll(() => {
    try {
      process.kill(-(child?.pid as number), 'SIGKILL');
    } catch {
      // the group is gone, as it should be
    }
    rmSync(stateDir, { recursive: true, force: true });
  });

  it(
    'restarts it with backoff (new pid in stack.json, ready again) and still stops everything on Ctrl-C',
    async () => {
      const started = npmStart(stateDir);
      child = started.child;
      output = started.output;
      const stackFile = join(stateDir, 'stack.json');
      const read = () =>
        existsSync(stackFile) ? (JSON.parse(readFileSync(stackFile, 'utf8')) as StackDescription) : undefined;
      const first = await waitFor(read, STACK_UP_MS, 'stack.json').catch((error: Error) => {
        throw new Error(`${error.message}\n${output()}`);
      });

      // Twice in a row: the second restart waits longer (backoff), each one gets a new pid.
      let killed = first.pids.worker;
      for (const round of [1, 2]) {
        process.kill(killed, 'SIGKILL');
        await waitFor(() => (isAlive(killed) ? undefined : true), 5_000, 'the killed worker to be gone');
        // The fault is real: nothing answers on the worker's admin port until the restart.
        await expect(fetch(`${first.admin.worker}/livez`)).rejects.toThrow();
        const restarted = await waitFor(
          () => {
            const pid = read()?.pids.worker;
            return pid !== undefined && pid !== killed && isAlive(pid) ? pid : undefined;
          },
          20_000,
          `restart ${round} of the worker`,
        ).catch((error: Error) => {
          throw new Error(`${error.message}\n${output()}`);
        });
        const deadline = Date.now() + 20_000;
        let status = 0;
        while (status !== 200 && Date.now() < deadline) {
          status = await fetch(`${first.admin.worker}/readyz`).then(
            (r) => r.status,
            () => 0,
          );
          if (status !== 200) await new Promise((r) => setTimeout(r, 100));
        }
        expect(status, output()).toBe(200);
        killed = restarted;
      }
      expect(output()).toMatch(/worker exited unexpectedly \(SIGKILL\); restarting in 1000 ms/);
      expect(output()).toMatch(/worker exited unexpectedly \(SIGKILL\); restarting in 2000 ms/);

      const pids = Object.values((read() as StackDescription).pids);
      expect(pids).toContain(killed);
      const stoppedAt = Date.now();
      process.kill(-(child.pid as number), 'SIGINT');
      await once(child, 'exit');
      const everything = [...pids, child.pid as number];
      await waitFor(
        () => (!everything.some(isAlive) && /stopped in \d+ ms/.test(output()) ? true : undefined),
        10_000 - (Date.now() - stoppedAt),
        'every process to exit',
      ).catch(() => {
        throw new Error(`still running after SIGINT: ${everything.filter(isAlive).join(', ')}\n${output()}`);
      });
      expect(output()).toMatch(/\[worker\] .*shutdown complete/);
    },
    STACK_UP_MS + 60_000,
  );
});
