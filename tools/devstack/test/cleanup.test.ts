import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { isAlive } from '../src/index.ts';

interface Started {
  pgPid: number;
  redisPid: number;
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
    expect(isAlive(started.pgPid) && isAlive(started.redisPid)).toBe(true);
    child.kill('SIGKILL');
    await once(child, 'exit');
    expect(await until(() => !isAlive(started.pgPid) && !isAlive(started.redisPid), 10_000)).toBe(true);
    expect(await until(() => started.dirs.every((d) => !existsSync(d)), 5_000)).toBe(true);
  });

  it('leaves nothing behind when the owner crashes with an uncaught error', async () => {
    const { child, started } = await startChild('throw');
    const [code] = (await once(child, 'exit')) as [number];
    expect(code).not.toBe(0);
    expect(await until(() => !isAlive(started.pgPid) && !isAlive(started.redisPid), 5_000)).toBe(true);
    expect(started.dirs.every((d) => !existsSync(d))).toBe(true);
  });
});
