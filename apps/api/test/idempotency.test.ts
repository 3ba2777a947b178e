import type { EphemeralPostgres } from '@tether/devstack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  expectMatchesOpenApi,
  expectProblem,
  startApi,
  startMigratedPostgres,
  type RunningApi,
} from './support.ts';

describe('Idempotency-Key', () => {
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

  const body = { type: 'demo.sleep', payload: { ms: 50, steps: 1 } };
  const post = (key: string | undefined, payload: unknown = body, sub = 'alice') =>
    api.call('POST', '/v1/jobs', {
      body: payload,
      sub,
      ...(key ? { headers: { 'idempotency-key': key } } : {}),
    });
  const jobsOf = async (sub: string) =>
    (await pg.sql<{ n: number }>(`SELECT count(*)::int AS n FROM tether_jobs WHERE owner = '${sub}'`))[0]!.n;
  const queueEntriesOf = async (sub: string) =>
    (
      await pg.sql<{ n: number }>(
        `SELECT count(*)::int AS n FROM graphile_worker._private_jobs q JOIN tether_jobs j ON q.key = j.id::text WHERE j.owner = '${sub}'`,
      )
    )[0]!.n;

  it('control: without a key, a retried POST makes a second job', async () => {
    const [a, b] = [await post(undefined, body, 'no-key'), await post(undefined, body, 'no-key')];
    expect(a.body.id).not.toBe(b.body.id);
    expect(await jobsOf('no-key')).toBe(2);
  });

  it('answers the same key and body twice with the same job and the same response', async () => {
    const first = await post('order-1', body, 'twice');
    // Same request, keys in another order, key as a structured-field string: still the same request.
    const second = await post('"order-1"', { payload: { steps: 1, ms: 50 }, type: 'demo.sleep' }, 'twice');
    expect(first.status).toBe(202);
    expect(second.status).toBe(202);
    expectMatchesOpenApi(second);
    expect(second.body).toEqual(first.body);
    expect(second.headers.get('location')).toBe(first.headers.get('location'));
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    expect(await jobsOf('twice')).toBe(1);
  });

  it('makes exactly one job (and one queue entry) for 20 concurrent duplicates', async () => {
    const responses = await Promise.all(Array.from({ length: 20 }, () => post('burst-1', body, 'burst')));
    expect(responses.map((r) => r.status)).toEqual(Array(20).fill(202));
    expect(new Set(responses.map((r) => r.body.id)).size).toBe(1);
    expect(responses.filter((r) => r.headers.get('idempotent-replayed') === null)).toHaveLength(1);
    expect(await jobsOf('burst')).toBe(1);
    expect(await queueEntriesOf('burst')).toBe(1);
  });

  it('refuses the key with a different body (422) and creates nothing', async () => {
    await post('k-diff', body, 'diff');
    const other = await post('k-diff', { type: 'demo.sleep', payload: { ms: 51, steps: 1 } }, 'diff');
    expectProblem(other, 422, 'idempotency-key-reused');
    expect(await jobsOf('diff')).toBe(1);
  });

  it('scopes keys to the token subject', async () => {
    const a = await post('shared-key', body, 'scope-a');
    const b = await post('shared-key', body, 'scope-b');
    expect(a.body.id).not.toBe(b.body.id);
    expect(b.headers.get('idempotent-replayed')).toBeNull();
  });

  it('refuses an empty or oversized key', async () => {
    expectProblem(await post('x'.repeat(256)), 400, 'invalid-idempotency-key');
    expectProblem(await post('""'), 400, 'invalid-idempotency-key');
  });

  it('lets a key expire after the published period', async () => {
    const shortLived = await startApi(pg.url, { idempotencyTtlMs: 1_000 });
    try {
      const doc = await shortLived.call('GET', '/openapi.json', { auth: false });
      expect(doc.body['x-idempotency-key-expiry-seconds']).toBe(1);
      const first = await shortLived.call('POST', '/v1/jobs', {
        body,
        sub: 'expiry',
        headers: { 'idempotency-key': 'k-exp' },
      });
      const replay = await shortLived.call('POST', '/v1/jobs', {
        body,
        sub: 'expiry',
        headers: { 'idempotency-key': 'k-exp' },
      });
      expect(replay.body.id).toBe(first.body.id);
      await new Promise((r) => setTimeout(r, 1_500));
      const after = await shortLived.call('POST', '/v1/jobs', {
        body,
        sub: 'expiry',
        headers: { 'idempotency-key': 'k-exp' },
      });
      expect(after.status).toBe(202);
      expect(after.body.id).not.toBe(first.body.id);
      expect(after.headers.get('idempotent-replayed')).toBeNull();
    } finally {
      await shortLived.close();
    }
  });
});
