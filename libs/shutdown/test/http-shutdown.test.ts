import { Agent } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { get, startFixture, type FixtureProcess } from './support/fixture-process.ts';

const started: FixtureProcess[] = [];
afterEach(() => {
  for (const app of started.splice(0)) app.child.kill('SIGKILL');
});

async function start(env: Record<string, string>): Promise<FixtureProcess> {
  const app = await startFixture('http-app', env);
  started.push(app);
  return app;
}

describe('HTTP shutdown of a real process', () => {
  it('lets a 3 s request in flight at SIGTERM finish with 200, readiness 503 and liveness 200 meanwhile, then exits 0', async () => {
    const app = await start({
      FRAMEWORK: 'node',
      SHUTDOWN_DRAIN_DELAY_MS: '500',
      SHUTDOWN_TIMEOUT_MS: '8000',
    });
    const admin = `http://127.0.0.1:${app.adminPort}`;
    expect((await get(`${admin}/readyz`)).status).toBe(200);
    const slow = get(`http://127.0.0.1:${app.port}/slow?ms=3000`);
    await sleep(300);
    app.child.kill('SIGTERM');
    await sleep(100);
    const readyz = await get(`${admin}/readyz`);
    expect(readyz.status).toBe(503);
    expect(JSON.parse(readyz.body)).toMatchObject({
      status: 'shutting down',
      checks: { shutdown: { ok: false } },
    });
    expect((await get(`${admin}/livez`)).status).toBe(200);

    const res = await slow;
    expect(res.status).toBe(200);
    expect(res.headers.connection).toBe('close');
    expect((await app.exited).code).toBe(0);
  });

  it('with Express: answers Connection: close while draining, closes idle keep-alive sockets, runs hooks in reverse order', async () => {
    const app = await start({ SHUTDOWN_DRAIN_DELAY_MS: '800', SHUTDOWN_TIMEOUT_MS: '5000' });
    const url = `http://127.0.0.1:${app.port}/`;
    const busy = new Agent({ keepAlive: true, maxSockets: 1 });
    const idle = new Agent({ keepAlive: true, maxSockets: 1 });
    expect((await get(url, busy)).headers.connection).toBe('keep-alive');
    await get(url, idle);
    const idleSocket = Object.values(idle.freeSockets).flat()[0];
    expect(idleSocket).toBeDefined();
    const idleClosed = new Promise<number>((resolve) =>
      idleSocket!.once('close', () => resolve(performance.now())),
    );

    const sigtermAt = performance.now();
    app.child.kill('SIGTERM');
    await sleep(100);
    const during = await get(url, busy);
    expect(during.status).toBe(200);
    expect(during.headers.connection).toBe('close');

    // The idle socket is reaped when the listener closes (after the drain delay), not after keepAliveTimeout (65 s).
    const closedAfterMs = (await idleClosed) - sigtermAt;
    expect(closedAfterMs).toBeGreaterThanOrEqual(700);
    expect((await app.exited).code).toBe(0);
    const output = app.output();
    expect(output.indexOf('hook last-registered ran')).toBeGreaterThan(-1);
    expect(output.indexOf('hook last-registered ran')).toBeLessThan(
      output.indexOf('hook first-registered ran'),
    );
    busy.destroy();
    idle.destroy();
  });

  it('exits at once with code 1 on a second signal that comes after the duplicate window', async () => {
    const app = await start({
      FRAMEWORK: 'node',
      SHUTDOWN_DRAIN_DELAY_MS: '3000',
      SHUTDOWN_TIMEOUT_MS: '10000',
    });
    const slow = get(`http://127.0.0.1:${app.port}/slow?ms=6000`).catch((error: Error) => error);
    await sleep(200);
    app.child.kill('SIGTERM');
    // Past the default 1000 ms duplicate window: this is the operator insisting.
    await sleep(1500);
    const secondAt = performance.now();
    app.child.kill('SIGTERM');
    const exit = await app.exited;
    expect(exit.code).toBe(1);
    expect(performance.now() - secondAt).toBeLessThan(1000);
    expect(app.output()).toContain('second SIGTERM');
    expect(await slow).toBeInstanceOf(Error);
  });

  // Ctrl-C in a terminal reaches the whole foreground process group, and `npm start` forwards it too.
  async function doubleSigint(env: Record<string, string>): Promise<{
    app: FixtureProcess;
    slow: Promise<Awaited<ReturnType<typeof get>> | Error>;
  }> {
    const app = await start({
      FRAMEWORK: 'node',
      SHUTDOWN_DRAIN_DELAY_MS: '300',
      SHUTDOWN_TIMEOUT_MS: '10000',
      ...env,
    });
    const slow = get(`http://127.0.0.1:${app.port}/slow?ms=1500`).catch((error: Error) => error);
    await sleep(200);
    app.child.kill('SIGINT');
    await sleep(50);
    app.child.kill('SIGINT');
    return { app, slow };
  }

  it('a duplicate SIGINT within the window (terminal + npm) is ignored: the request finishes and the exit is 0', async () => {
    const { app, slow } = await doubleSigint({});
    const res = await slow;
    expect(res).not.toBeInstanceOf(Error);
    expect(res).toMatchObject({ status: 200 });
    expect((await app.exited).code).toBe(0);
    expect(app.output()).toMatch(
      /SIGINT \d+ ms after the first signal: the same request delivered twice, ignored/,
    );
    expect(app.output()).not.toContain('second SIGINT');
  });

  it('CONTROL: without the duplicate window (0 ms), the same double Ctrl-C kills the request and exits 1', async () => {
    const { app, slow } = await doubleSigint({ DUPLICATE_SIGNAL_WINDOW_MS: '0' });
    expect((await app.exited).code).toBe(1);
    expect(app.output()).toContain('second SIGINT');
    expect(await slow).toBeInstanceOf(Error);
  });

  it('a hook that never resolves: exit code 1 before the hard deadline, and the log names the hook', async () => {
    const app = await start({
      FRAMEWORK: 'node',
      HANG_HOOK: '1',
      HOOK_TIMEOUT_MS: '500',
      SHUTDOWN_DRAIN_DELAY_MS: '200',
      SHUTDOWN_TIMEOUT_MS: '6000',
    });
    const sigtermAt = performance.now();
    app.child.kill('SIGTERM');
    const exit = await app.exited;
    const elapsedMs = performance.now() - sigtermAt;
    expect(exit.code).toBe(1);
    expect(elapsedMs).toBeLessThan(200 + 6000);
    const output = app.output();
    const stuckLine = output.split('\n').find((line) => line.includes('"hook":"stuck-hook"'));
    expect(stuckLine).toContain('did not finish within 500 ms');
    // The hooks after it still ran.
    expect(output.indexOf('hook first-registered ran')).toBeGreaterThan(output.indexOf(stuckLine!));
  });
});
