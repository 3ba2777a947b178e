import { EphemeralPostgres } from '@tether/devstack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readdirSync } from 'node:fs';
import { migrate, migrationsDir, pendingMigrations, QUEUE_SCHEMA } from '../src/index.ts';

// Every migration shipped (other issues add theirs), in the order they apply.
const SHIPPED = readdirSync(migrationsDir)
  .filter((f) => f.endsWith('.sql'))
  .map((f) => f.replace(/\.sql$/, ''))
  .sort();
const EVENT_SEQ = '1732500000000_job_event_seq';

describe('migrate', () => {
  let server: EphemeralPostgres;
  beforeAll(async () => {
    server = await EphemeralPostgres.start();
  });
  afterAll(async () => {
    await server?.close();
  });

  it('applies every migration exactly once even when several pods migrate at the same moment', async () => {
    expect(await pendingMigrations(server.url)).toEqual([...SHIPPED, QUEUE_SCHEMA]);
    const results = await Promise.all([1, 2, 3].map(() => migrate({ databaseUrl: server.url })));
    expect(results.flatMap((r) => r.applied)).toEqual(SHIPPED);
    expect(await pendingMigrations(server.url)).toEqual([]);
    expect((await migrate({ databaseUrl: server.url })).applied).toEqual([]);
    const tables = await server.sql<{ name: string }>(
      "SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' ORDER BY 1",
    );
    expect(tables.map((t) => t.name)).toEqual(['tether_job_events', 'tether_jobs', 'tether_migrations']);
    // graphile-worker's schema came with it: the API's enqueue transaction calls add_job.
    const [queue] = await server.sql<{ installed: boolean }>(
      "SELECT to_regproc('graphile_worker.add_job') IS NOT NULL AS installed",
    );
    expect(queue!.installed).toBe(true);
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

  it('gives events a per-job seq: unique per job, positive, with the full set of event types', async () => {
    const [job] = await server.sql<{ id: string }>(
      `INSERT INTO tether_jobs (owner, type) VALUES ('erin', 'demo.sleep') RETURNING id`,
    );
    await server.sql(`INSERT INTO tether_job_events (job_id, seq, type) VALUES ('${job!.id}', 1, 'queued')`);
    await expect(
      server.sql(`INSERT INTO tether_job_events (job_id, seq, type) VALUES ('${job!.id}', 1, 'running')`),
    ).rejects.toMatchObject({ code: '23505' });
    await expect(
      server.sql(`INSERT INTO tether_job_events (job_id, type) VALUES ('${job!.id}', 'running')`),
    ).rejects.toMatchObject({ code: '23502' });
    await expect(
      server.sql(`INSERT INTO tether_job_events (job_id, seq, type) VALUES ('${job!.id}', 2, 'lost')`),
    ).rejects.toMatchObject({ code: '23514' });
  });

  it('reverts migrations, and numbers existing events per job when applied again', async () => {
    const later = SHIPPED.slice(SHIPPED.indexOf(EVENT_SEQ));
    const reverted = await migrate({ databaseUrl: server.url, direction: 'down', count: later.length });
    expect(reverted.applied).toEqual([...later].reverse());
    expect(await pendingMigrations(server.url)).toEqual(later);
    // Events written by the old schema, interleaved across two jobs.
    const jobs = await server.sql<{ id: string }>(
      `INSERT INTO tether_jobs (owner, type) VALUES ('old', 'a'), ('old', 'b') RETURNING id`,
    );
    for (const job of [jobs[0], jobs[1], jobs[0], jobs[0], jobs[1]]) {
      await server.sql(`INSERT INTO tether_job_events (job_id, type) VALUES ('${job!.id}', 'progress')`);
    }
    expect((await migrate({ databaseUrl: server.url })).applied).toEqual(later);
    const rows = await server.sql<{ job_id: string; seq: number }>(
      `SELECT job_id, seq FROM tether_job_events WHERE job_id IN ('${jobs[0]!.id}', '${jobs[1]!.id}') ORDER BY id`,
    );
    expect(rows.map((r) => [r.job_id === jobs[0]!.id ? 'a' : 'b', r.seq])).toEqual([
      ['a', 1],
      ['b', 1],
      ['a', 2],
      ['a', 3],
      ['b', 2],
    ]);
    const lastSeq = await server.sql<{ last_seq: number }>(
      `SELECT last_seq FROM tether_jobs WHERE owner = 'old' ORDER BY type`,
    );
    expect(lastSeq.map((r) => r.last_seq)).toEqual([3, 2]);
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
