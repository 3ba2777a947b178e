import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

const run = promisify(execFile);

it('the README example follows a job through a 1012 restart and exits cleanly', async () => {
  const { stdout } = await run(
    process.execPath,
    ['--conditions=@tether/source', join(import.meta.dirname, '..', 'examples', 'follow-job.ts')],
    {
      cwd: join(import.meta.dirname, '..'),
      timeout: 20_000,
    },
  );
  expect(stdout).toContain('event 1 progress');
  expect(stdout).toMatch(/disconnected \(1012, restart\); reconnecting in \d+ ms/);
  expect(stdout).toContain('connected; resuming job-1 after 1');
  expect(stdout.trimEnd().endsWith('event 2 succeeded')).toBe(true);
});
