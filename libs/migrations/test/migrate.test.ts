import { EphemeralPostgres } from '@tether/devstack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate, pendingMigrations } from '../src/index.ts';

describe('migrate', () => {
  let server: EphemeralPostgres;
  beforeAll(async () => {
    server = await EphemeralPostgres.start();
  });
  afterAll(async () => {
    await server?.close();
  });

  it('applies every migration exactly once even when several pods migrate at the same moment', async () => {
    expect(await pendingMigrations(server.url)).toEqual(['1732400000000_jobs']);
    const results = await Promise.all([1, 2, 3].map(() => migrate({ databaseUrl: server.url })));
    expect(results.flatMap((r) => r.applied)).toEqual(['1732400000000_jobs']);
    expect(await pendingMigrations(server.url)).toEqual([]);
    expect((await migrate({ databaseUrl: server.url })).applied).toEqual([]);
    const tables = await server.sql<{ name: string }>(
      "SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' ORDER BY 1",
    );
    expect(tables.map((t) => t.name)).toEqual(['tether_job_events', 'tether_jobs', 'tether_migrations']);
  });

  it('enforces the job contract in the schema', async () => {
    await server.sql(
      `INSERT INTO tether_jobs (owner, type, idempotency_key) VALUES ('alice', 'demo.sleep', 'k1')`,
    );
    await expect(
      server.sql(
        `INSERT INTO tether_jobs (owner, type, idempotency_key) VALUES ('alice', 'demo.sleep', 'k1')`,
      ),
    ).rejects.toMatchObject({ code: '23505' });
    await server.sql(
      `INSERT INTO tether_jobs (owner, type, idempotency_key) VALUES ('bob', 'demo.sleep', 'k1')`,
    );
    await expect(
      server.sql(`INSERT INTO tether_jobs (owner, type, status) VALUES ('a', 't', 'lost')`),
    ).rejects.toMatchObject({
      code: '23514',
    });
  });

  it('reverts the last migration', async () => {
    expect((await migrate({ databaseUrl: server.url, direction: 'down' })).applied).toEqual([
      '1732400000000_jobs',
    ]);
    expect(await pendingMigrations(server.url)).toEqual(['1732400000000_jobs']);
    expect((await migrate({ databaseUrl: server.url })).applied).toEqual(['1732400000000_jobs']);
  });

  it('fails with the server error and never echoes the password', async () => {
    const wrong = server.url.replace(server.password, 'not-the-password-123');
    const error = await migrate({ databaseUrl: wrong }).catch((e: Error) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(/password authentication failed/);
    expect(
      JSON.stringify({ message: (error as Error).message, stack: (error as Error).stack }),
    ).not.toContain('not-the-password-123');
  });
});
