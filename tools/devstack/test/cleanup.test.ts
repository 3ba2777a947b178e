import { execFileSync, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAlive } from '../src/index.ts';

interface Started {
  pgPid: number;
  redisPid: number;
  /** Started with startApp. */
  appPid: number;
  /** The same script spawned plainly: the control, which nothing reaps. */
  plainPid: number;
  dirs: string[];
}

async function until(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return check();
}

async function startChild(mode: 'sigkill' | 'throw') {
  const child = spawn(
    process.execPath,
    ['--conditions=@tether/source', new URL('./fixtures/start-and-die.ts', import.meta.url).pathname, mode],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const [line] = (await once(createInterface({ input: child.stdout }), 'line')) as [string];
  return { child, started: JSON.parse(line) as Started };
}

describe('cleanup', () => {
  it('leaves no server or temp dir behind when the owner is killed with SIGKILL (the watchdog reaps)', async () => {
    const { child, started } = await startChild('sigkill');
    expect(isAlive(started.pgPid) && isAlive(started.redisPid) && isAlive(started.appPid)).toBe(true);
    child.kill('SIGKILL');
    await once(child, 'exit');
    try {
      expect(
        await until(
          () => !isAlive(started.pgPid) && !isAlive(started.redisPid) && !isAlive(started.appPid),
          10_000,
        ),
      ).toBe(true);
      expect(await until(() => started.dirs.every((d) => !existsSync(d)), 5_000)).toBe(true);
      // Control: a child the devstack was not told about outlives the SIGKILLed owner.
      expect(isAlive(started.plainPid)).toBe(true);
    } finally {
      if (isAlive(started.plainPid)) process.kill(started.plainPid, 'SIGKILL');
    }
  });

  it('leaves nothing behind when the owner crashes with an uncaught error', async () => {
    const { child, started } = await startChild('throw');
    const [code] = (await once(child, 'exit')) as [number];
    if (isAlive(started.plainPid)) process.kill(started.plainPid, 'SIGKILL');
    expect(code).not.toBe(0);
    expect(
      await until(
        () => !isAlive(started.pgPid) && !isAlive(started.redisPid) && !isAlive(started.appPid),
        5_000,
      ),
    ).toBe(true);
    expect(started.dirs.every((d) => !existsSync(d))).toBe(true);
  });
});

describe('cleanup from the built package (dist)', () => {
  // Built into a folder inside the package so the compiled code resolves pg and ioredis as the
  // package would; .cache is ignored by git and the linters.
  const projectDir = join(import.meta.dirname, '..');
  const cacheDir = join(projectDir, '.cache');
  let dist: string;

  beforeAll(() => {
    mkdirSync(cacheDir, { recursive: true });
    dist = mkdtempSync(join(cacheDir, 'dist-'));
    execFileSync(
      join(projectDir, '..', '..', 'node_modules', '.bin', 'tsc'),
      [
        '-p',
        'tsconfig.lib.json',
        '--outDir',
        dist,
        '--composite',
        'false',
        '--declaration',
        'false',
        '--declarationMap',
        'false',
        '--noCheck', // emit only: type errors are typecheck's business, this test is about runtime
      ],
      { cwd: projectDir, stdio: 'pipe' },
    );
    // Plain JavaScript, run by plain node: no source condition, no TypeScript anywhere.
    writeFileSync(
      join(dist, 'start-and-wait.mjs'),
      "import { EphemeralRedis } from './index.js';\n" +
        'const redis = await EphemeralRedis.start();\n' +
        'console.log(JSON.stringify({ pid: redis.pid, dir: redis.dir }));\n' +
        'setInterval(() => {}, 1_000);\n',
    );
  }, 300_000);
  afterAll(() => rmSync(dist, { recursive: true, force: true }));

  async function startFrom(dir: string) {
    const child = spawn(process.execPath, [join(dir, 'start-and-wait.mjs')], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const [line] = (await once(createInterface({ input: child.stdout }), 'line')) as [string];
    return { child, started: JSON.parse(line) as { pid: number; dir: string } };
  }

  it('the watchdog reaps the servers of a SIGKILLed owner that ran the compiled JavaScript', async () => {
    const { child, started } = await startFrom(dist);
    expect(isAlive(started.pid)).toBe(true);
    child.kill('SIGKILL');
    await once(child, 'exit');
    expect(await until(() => !isAlive(started.pid), 10_000)).toBe(true);
    expect(await until(() => !existsSync(started.dir), 5_000)).toBe(true);
  });

  it('the control: without a watchdog file beside the compiled code (the old `.ts` path), servers outlive their owner', async () => {
    const broken = `${dist}-no-watchdog`;
    cpSync(dist, broken, { recursive: true });
    rmSync(join(broken, 'watchdog.js'));
    const { child, started } = await startFrom(broken);
    try {
      child.kill('SIGKILL');
      await once(child, 'exit');
      expect(await until(() => !isAlive(started.pid), 3_000)).toBe(false);
    } finally {
      try {
        process.kill(started.pid, 'SIGKILL');
      } catch {
        // gone already
      }
      rmSync(started.dir, { recursive: true, force: true });
      rmSync(broken, { recursive: true, force: true });
    }
  });
});
