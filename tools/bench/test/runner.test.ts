import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isAlive } from '@tether/devstack';
import { afterAll, describe, expect, it } from 'vitest';
import { runBench } from '../src/runner.ts';

const dir = mkdtempSync(join(tmpdir(), 'bench-runner-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A bench that starts a helper process (as benches start servers), records its pid, then hangs. */
function hangingBench(name: string, extra = ''): string {
  const file = join(dir, `${name}.bench.ts`);
  writeFileSync(
    file,
    `import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
${extra}
const helper = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
writeFileSync(${JSON.stringify(join(dir, `${name}.pid`))}, String(helper.pid));
setInterval(() => {}, 1000);
`,
  );
  return file;
}

describe('runBench', () => {
  it('stops a bench that overruns, with what it started, and says it never sized itself', async () => {
    const file = hangingBench('hangs');
    const env = { ...process.env, BENCH_SCALE: 'quick' };
    // Long enough for the bench to have started its helper on a busy machine.
    const run = await runBench('hangs', file, { dir, timeoutMs: 8_000, env });
    expect(run.status).toBe('timed out');
    expect(run.message).toMatch(/did not finish within 8 s .* it never calls benchScale\(\)/);
    const helper = Number(readFileSync(join(dir, 'hangs.pid'), 'utf8'));
    await expect.poll(() => isAlive(helper), { timeout: 5_000 }).toBe(false);
  });

  it('tells a bench that sizes itself but still overruns apart', async () => {
    const scale = JSON.stringify(fileURLToPath(new URL('../src/scale.ts', import.meta.url)));
    const file = hangingBench('slow', `import { benchScale } from ${scale};\nconsole.log(benchScale());`);
    const run = await runBench('slow', file, {
      dir,
      timeoutMs: 1_000,
      env: { ...process.env, BENCH_SCALE: 'quick' },
    });
    expect(run.message).toMatch(/although it calls benchScale\(\)/);
  });

  it('reports a bench that exits 0 without writing its JSON, and a failing one', async () => {
    const quiet = join(dir, 'quiet.bench.ts');
    writeFileSync(quiet, 'process.exit(0);\n');
    const fails = join(dir, 'fails.bench.ts');
    writeFileSync(fails, 'process.exit(3);\n');
    const env = { ...process.env };
    await expect(runBench('quiet', quiet, { dir, timeoutMs: 30_000, env })).resolves.toMatchObject({
      status: 'no report',
    });
    await expect(runBench('fails', fails, { dir, timeoutMs: 30_000, env })).resolves.toMatchObject({
      status: 'failed',
      exitCode: 3,
    });
  });
});
