import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { EphemeralPostgres } from '@tether/devstack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pendingMigrations } from '../src/index.ts';

const run = promisify(execFile);
const cli = new URL('../src/cli.ts', import.meta.url).pathname;

describe('tether-migrate', () => {
  let server: EphemeralPostgres;
  beforeAll(async () => {
    server = await EphemeralPostgres.start();
  });
  afterAll(async () => {
    await server?.close();
  });

  const migrateCommand = (env: Record<string, string>) =>
    run(process.execPath, ['--conditions=@tether/source', cli, 'up'], {
      env: { ...process.env, ...env },
      timeout: 120_000,
    });

  it('runs as a command: three at once apply everything once, a second run finds nothing to do', async () => {
    const runs = await Promise.all([1, 2, 3].map(() => migrateCommand({ DATABASE_URL: server.url })));
    const applied = runs.map((r) => r.stdout.trim()).filter((line) => line.startsWith('applied:'));
    expect(applied).toHaveLength(1);
    expect(await pendingMigrations(server.url)).toEqual([]);
    const [{ n }] = (await server.sql<{ n: number }>(
      'SELECT count(*)::int AS n FROM graphile_worker.migrations',
    )) as [{ n: number }];
    expect(n).toBeGreaterThan(0);
    const again = await migrateCommand({ DATABASE_URL: server.url });
    expect(again.stdout.trim()).toBe('schema is current');
  });

  it('exits 2 naming the variable when DATABASE_URL is missing', async () => {
    const failed = await migrateCommand({ DATABASE_URL: '' }).catch(
      (e: { code: number; stderr: string }) => e,
    );
    expect(failed).toMatchObject({ code: 2 });
    expect((failed as { stderr: string }).stderr).toMatch(/DATABASE_URL is not set/);
  });
});
