import type { EphemeralPostgres } from '@tether/devstack';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  expectMatchesOpenApi,
  startApi,
  startMigratedPostgres,
  type ApiResponse,
  type RunningApi,
} from './support.ts';

const DB_DEADLINE_MS = 2_000;
// The bound on any answer: the database deadline plus generous slack for a loaded machine.
const ANSWER_BOUND_MS = DB_DEADLINE_MS + 8_000;

describe('Postgres outages', () => {
  let server: EphemeralPostgres;
  let api: RunningApi;
  beforeAll(async () => {
    server = await startMigratedPostgres();
    api = await startApi(server.url, { dbDeadlineMs: DB_DEADLINE_MS });
  });
  afterAll(async () => {
    server?.resume();
    await api?.close();
    await server?.close();
  });

  async function timedPost(i: number): Promise<ApiResponse & { ms: number }> {
    const started = Date.now();
    const response = await api.call('POST', '/v1/jobs', {
      body: { type: 'demo.sleep', payload: { ms: 1, steps: 1 } },
      sub: 'outage',
      headers: { 'idempotency-key': `restart-${i}` },
      timeoutMs: 60_000,
    });
    return { ...response, ms: Date.now() - started };
  }

  it('restarted during 50 POSTs: each answers 202 or 503 + Retry-After in bounded time, and every 202 job exists with its queued event and queue entry', async () => {
    const posts: Promise<ApiResponse & { ms: number }>[] = [];
    const pidBefore = server.pid;
    const restart = (async () => {
      await new Promise((r) => setTimeout(r, 600));
      await server.restart(1_500);
    })();
    for (let i = 0; i < 50; i++) {
      posts.push(timedPost(i));
      await new Promise((r) => setTimeout(r, 80));
    }
    const responses = await Promise.all(posts);
    await restart;

    for (const response of responses) {
      expect([202, 503], JSON.stringify(response.body)).toContain(response.status);
      expect(response.ms).toBeLessThan(ANSWER_BOUND_MS);
      expectMatchesOpenApi(response);
      if (response.status === 503) {
        expect(response.headers.get('retry-after')).toMatch(/^\d+$/);
        expect(response.body.type).toBe('/problems/service-unavailable');
      }
    }
    const accepted = responses.filter((r) => r.status === 202).map((r) => r.body.id as string);
    // The restart really happened (a new postmaster) while the requests were in flight.
    expect(server.pid).not.toBe(pidBefore);
    expect(accepted.length).toBeGreaterThan(0);
    console.log(
      `restart during 50 POSTs: ${accepted.length} x 202, ${responses.length - accepted.length} x 503, slowest ${Math.max(...responses.map((r) => r.ms))} ms`,
    );
    const rows = await server.sql<{ id: string; queued_events: number; queue_entries: number }>(
      `SELECT j.id,
              (SELECT count(*)::int FROM tether_job_events e WHERE e.job_id = j.id AND e.seq = 1 AND e.type = 'queued') AS queued_events,
              (SELECT count(*)::int FROM graphile_worker._private_jobs q WHERE q.key = j.id::text) AS queue_entries
       FROM tether_jobs j WHERE j.owner = 'outage'`,
    );
    const byId = new Map(rows.map((r) => [r.id, r]));
    for (const id of accepted) expect(byId.get(id), id).toMatchObject({ queued_events: 1, queue_entries: 1 });
    // Nothing half-made: every job row has its event and queue entry, accepted or not.
    for (const row of rows) expect(row).toMatchObject({ queued_events: 1, queue_entries: 1 });
    // Retrying the 503s with their keys: each gets exactly one job (a 503 after a lost COMMIT included).
    for (const [i, response] of responses.entries()) {
      if (response.status !== 503) continue;
      const retry = await timedPost(i);
      expect(retry.status).toBe(202);
    }
    const [count] = await server.sql<{ n: number }>(
      `SELECT count(*)::int AS n FROM tether_jobs WHERE owner = 'outage'`,
    );
    expect(count!.n).toBe(50);
  });

  it('frozen (SIGSTOP): the API answers 503 + Retry-After by its deadline, where a bare pg pool query still hangs', async () => {
    const bare = new pg.Pool({ connectionString: server.url });
    bare.on('error', () => {});
    await bare.query('SELECT 1');
    server.pause();
    try {
      const bareQuery = bare.query('SELECT 1').then(
        () => 'answered',
        () => 'failed',
      );
      const response = await timedPost(1000);
      expect(response.status).toBe(503);
      expect(response.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(response.ms).toBeLessThan(ANSWER_BOUND_MS);
      // Control: the driver's defaults have no deadline, so the same moment leaves it waiting.
      const bareState = await Promise.race([
        bareQuery,
        new Promise((r) => setTimeout(() => r('pending'), 500)),
      ]);
      expect(bareState).toBe('pending');
    } finally {
      server.resume();
      await bare.end().catch(() => {});
    }
    // And it recovers by itself.
    const after = await timedPost(1001);
    expect(after.status).toBe(202);
  });
});
