import { existsSync } from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EphemeralPgBouncer } from '../src/pgbouncer.ts';
import { EphemeralPostgres } from '../src/postgres.ts';
import { isAlive } from '../src/process-tree.ts';

let postgres: EphemeralPostgres;

beforeAll(async () => {
  postgres = await EphemeralPostgres.start();
});
afterAll(async () => {
  await postgres?.close();
});

async function backendPids(url: string, n: number): Promise<Set<number>> {
  const pids = new Set<number>();
  for (let i = 0; i < n; i++) {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      pids.add(rows[0]?.pid as number);
    } finally {
      await client.end();
    }
  }
  return pids;
}

describe('EphemeralPgBouncer', () => {
  it('pools in transaction mode in front of Postgres, with the application role and its password', async () => {
    const bouncer = await EphemeralPgBouncer.start(postgres);
    try {
      expect(bouncer.url).toContain(`:${bouncer.port}/`);
      // Five client connections one after another reuse one server connection.
      expect((await backendPids(bouncer.url, 5)).size).toBe(1);
      // A wrong password is refused.
      const wrong = new pg.Client({ connectionString: bouncer.url.replace(postgres.password, 'nope') });
      await expect(wrong.connect()).rejects.toThrow();
    } finally {
      await bouncer.close();
    }
  });

  it('restarts, and close() stops the process and removes its folder', async () => {
    const bouncer = await EphemeralPgBouncer.start(postgres);
    await bouncer.restart(100);
    expect((await backendPids(bouncer.url, 1)).size).toBe(1);
    const pid = bouncer.pid as number;
    expect(isAlive(pid)).toBe(true);
    await bouncer.close();
    expect(isAlive(pid)).toBe(false);
    expect(existsSync(bouncer.dir)).toBe(false);
  });

  it('keeps client connections across a Postgres restart behind it and reconnects to the server', async () => {
    const bouncer = await EphemeralPgBouncer.start(postgres);
    const client = new pg.Client({ connectionString: bouncer.url });
    client.on('error', () => {});
    await client.connect();
    try {
      const before = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid;
      await postgres.restart(200);
      // The first statement may meet the dead server connection; PgBouncer then logs in again.
      let after: number | undefined;
      for (let i = 0; i < 50 && after === undefined; i++) {
        after = await client
          .query<{ pid: number }>('SELECT pg_backend_pid() AS pid')
          .then((r) => r.rows[0]?.pid)
          .catch(() => new Promise<undefined>((r) => setTimeout(() => r(undefined), 100)));
      }
      expect(typeof after).toBe('number');
      expect(after).not.toBe(before);
    } finally {
      await client.end().catch(() => {});
      await bouncer.close();
    }
  });
});
