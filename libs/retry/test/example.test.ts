import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

const run = promisify(execFile);

it('the README example runs and rides through two 503s', async () => {
  const { stdout } = await run(
    process.execPath,
    ['--conditions=@tether/source', join(import.meta.dirname, '..', 'examples', 'flaky-http.ts')],
    {
      cwd: join(import.meta.dirname, '..'),
      // Nx sets FORCE_COLOR for its children: the example's console.log would colour the object.
      env: { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1' },
      timeout: 20_000,
    },
  );
  expect(stdout).toContain('attempt 2: HTTP 503 -> HTTP 503 service unavailable');
  expect(stdout).toContain('after 3 requests: { balance: 42 }');
});
