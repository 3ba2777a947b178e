import type { EphemeralPostgres } from '@tether/devstack';
import { transition } from '@tether/jobs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  expectMatchesOpenApi,
  expectProblem,
  startApi,
  startMigratedPostgres,
  type RunningApi,
} from '../support.ts';

describe('jobs routes', () => {
  let pg: EphemeralPostgres;
  let api: RunningApi;
  beforeAll(async () => {
    pg = await startMigratedPostgres();
    api = await startApi(pg.url);
  });
  afterAll(async () => {
    await api?.close();
    await pg?.close();
  });

  const create = async (
    body: unknown = { type: 'demo.sleep', payload: { ms: 100, steps: 2 } },
    sub = 'alice',
  ) => {
    const response = await api.call('POST', '/v1/jobs', { body, sub });
    expect(response.status, JSON.stringify(response.body)).toBe(202);
    expectMatchesOpenApi(response);
    return response;
  };

  it('queues a job transactionally: 202 {id, status}, Location, the row, its queued event and its queue entry', async () => {
    const response = await create();
    expect(response.body).toEqual({ id: expect.any(String), status: 'queued' });
    expect(response.headers.get('location')).toBe(`/v1/jobs/${response.body.id}`);
    const [row] = await pg.sql<{ owner: string; events: number; queued: number }>(
      `SELECT owner,
              (SELECT count(*)::int FROM tether_job_events WHERE job_id = j.id AND seq = 1 AND type = 'queued') AS events,
              (SELECT count(*)::int FROM graphile_worker._private_jobs WHERE key = j.id::text) AS queued
       FROM tether_jobs j WHERE id = '${response.body.id}'`,
    );
    expect(row).toEqual({ owner: 'alice', events: 1, queued: 1 });
  });

  it('reads a job back with its schema', async () => {
    const { body } = await create({ type: 'demo.flaky', payload: { failTimes: 2 } });
    const response = await api.call('GET', `/v1/jobs/${body.id}`);
    expect(response.status).toBe(200);
    expectMatchesOpenApi(response);
    expect(response.body).toMatchObject({
      id: body.id,
      type: 'demo.flaky',
      status: 'queued',
      payload: { failTimes: 2 },
      progress: null,
      lastEventId: '1',
      cancelRequested: false,
      startedAt: null,
    });
  });

  it('answers HEAD with the GET headers and no body, and an authenticated OPTIONS with Allow', async () => {
    const { body } = await create();
    const get = await api.call('GET', `/v1/jobs/${body.id}`);
    const head = await api.call('HEAD', `/v1/jobs/${body.id}`);
    expect(head.status).toBe(200);
    expect(head.body).toBeUndefined();
    expect(head.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(head.headers.get('content-length')).toBe(get.headers.get('content-length'));
    expect(Number(get.headers.get('content-length'))).toBe(Buffer.byteLength(JSON.stringify(get.body)));

    const options = await api.call('OPTIONS', `/v1/jobs/${body.id}`);
    expect([options.status, options.headers.get('allow')]).toEqual([200, 'GET, HEAD']);
    expect((await api.call('OPTIONS', '/v1/jobs')).headers.get('allow')).toBe('GET, HEAD, POST');
    const anonymous = await api.call('OPTIONS', `/v1/jobs/${body.id}`, { auth: false });
    expect([anonymous.status, anonymous.headers.get('allow')]).toEqual([401, null]);
  });

  it('lists the caller’s jobs newest first with an opaque cursor, filtered by status', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await create(undefined, 'lister')).body.id);
    await transition(api.db, ids[1]!, 'queued', 'running');
    const seen: string[] = [];
    let path = '/v1/jobs?limit=2';
    for (;;) {
      const page = await api.call('GET', path, { sub: 'lister' });
      expect(page.status).toBe(200);
      expectMatchesOpenApi(page);
      seen.push(...page.body.items.map((j: { id: string }) => j.id));
      if (!page.body.nextCursor) break;
      path = `/v1/jobs?limit=2&cursor=${encodeURIComponent(page.body.nextCursor)}`;
    }
    expect(seen).toEqual([...ids].reverse());
    const running = await api.call('GET', '/v1/jobs?status=running', { sub: 'lister' });
    expect(running.body.items.map((j: { id: string }) => j.id)).toEqual([ids[1]]);
  });

  it('cancels a queued job at once (200), asks a running one to stop (202), refuses a finished one (409)', async () => {
    const queued = (await create()).body.id;
    const cancelled = await api.call('POST', `/v1/jobs/${queued}/cancel`);
    expect(cancelled.status).toBe(200);
    expectMatchesOpenApi(cancelled);
    expect(cancelled.body).toMatchObject({ status: 'cancelled', lastEventId: '2' });
    const [entries] = await pg.sql<{ n: number }>(
      `SELECT count(*)::int AS n FROM graphile_worker._private_jobs WHERE key = '${queued}'`,
    );
    expect(entries!.n).toBe(0);

    const running = (await create()).body.id;
    await transition(api.db, running, 'queued', 'running');
    const requested = await api.call('POST', `/v1/jobs/${running}/cancel`);
    expect(requested.status).toBe(202);
    expectMatchesOpenApi(requested);
    expect(requested.body).toMatchObject({ status: 'running', cancelRequested: true });

    const finished = (await create()).body.id;
    await transition(api.db, finished, 'queued', 'running');
    await transition(api.db, finished, 'running', 'succeeded', {}, { result: { ok: true } });
    expectProblem(await api.call('POST', `/v1/jobs/${finished}/cancel`), 409, 'job-finished');
    // Cancelling twice: the second finds it finished.
    expectProblem(await api.call('POST', `/v1/jobs/${queued}/cancel`), 409, 'job-finished');
  });

  it('serves its OpenAPI 3.1 document without a token, with the idempotency key expiry', async () => {
    const response = await api.call('GET', '/openapi.json', { auth: false });
    expect(response.status).toBe(200);
    expect(response.body.openapi).toBe('3.1.0');
    expect(response.body['x-idempotency-key-expiry-seconds']).toBe(86_400);
    const header = response.body.paths['/v1/jobs'].post.parameters.find(
      (p: { name: string }) => p.name === 'Idempotency-Key',
    );
    expect(header.schema.description).toMatch(/expire 86400 s after first use/);
  });
});
