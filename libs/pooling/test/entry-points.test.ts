import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const fixture = new URL('./fixtures/import-entry.ts', import.meta.url).pathname;

async function load(entry: string): Promise<{ loaded: string[]; exported: string[] }> {
  const { stdout } = await run(process.execPath, ['--conditions=@tether/source', fixture, entry], {
    cwd: new URL('..', import.meta.url).pathname,
    timeout: 30_000,
  });
  return JSON.parse(stdout.trim().split('\n').at(-1) as string) as { loaded: string[]; exported: string[] };
}

describe('entry points (pg and ioredis are optional peer dependencies)', () => {
  it('@tether/pooling/pg loads pg and never ioredis', async () => {
    const { loaded, exported } = await load('@tether/pooling/pg');
    expect(loaded).toEqual(['pg']);
    expect(exported).toContain('createPgPool');
    expect(exported).not.toContain('createRedis');
  });

  it('@tether/pooling/redis loads ioredis and never pg', async () => {
    const { loaded, exported } = await load('@tether/pooling/redis');
    expect(loaded).toEqual(['ioredis']);
    expect(exported).toContain('createRedis');
    expect(exported).not.toContain('createPgPool');
  });

  it('control: the root export keeps working and loads both drivers', async () => {
    const { loaded, exported } = await load('@tether/pooling');
    expect(loaded).toEqual(['ioredis', 'pg']);
    expect(exported).toEqual(expect.arrayContaining(['createPgPool', 'createRedis']));
  });
});
