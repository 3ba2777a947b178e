import { request } from 'node:http';
import type { EphemeralPostgres } from '@tether/devstack';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JOB_TYPES } from '../src/job-types.ts';
import {
  expectMatchesOpenApi,
  expectProblem,
  startApi,
  startMigratedPostgres,
  token,
  type ApiResponse,
  type RunningApi,
} from './support.ts';

describe('malformed input: 4xx problem+json, never 5xx', () => {
  let pg: EphemeralPostgres;
  let api: RunningApi;
  let bearer: string;
  beforeAll(async () => {
    pg = await startMigratedPostgres();
    api = await startApi(pg.url);
    bearer = `Bearer ${await token('fuzzer')}`;
  });
  afterAll(async () => {
    await api?.close();
    await pg?.close();
  });

  const raw = (method: string, path: string, body?: string, contentType?: string) =>
    api.call(method, path, {
      sub: 'fuzzer',
      ...(body === undefined ? {} : { rawBody: body }),
      headers: contentType ? { 'content-type': contentType } : {},
    });

  it('the contract check itself fails on a body the document does not allow', () => {
    const forged: ApiResponse = {
      status: 202,
      method: 'POST',
      path: '/v1/jobs',
      headers: new Headers({ 'content-type': 'application/json', location: '/v1/jobs/x' }),
      body: { id: 'not-a-uuid', status: 'queued', extra: 1 },
    };
    expect(() => expectMatchesOpenApi(forged)).toThrow();
  });

  it('answers each malformed request with its own problem type', async () => {
    expectProblem(
      await raw('POST', '/v1/jobs', '{"type": "demo.sleep",', 'application/json'),
      400,
      'malformed-json',
    );
    expectProblem(await raw('POST', '/v1/jobs', 'null', 'application/json'), 400, 'malformed-json');
    expectProblem(
      await raw(
        'POST',
        '/v1/jobs',
        JSON.stringify({ type: 'demo.sleep', payload: { ms: 1, pad: 'x'.repeat(100_000) } }),
        'application/json',
      ),
      413,
      'payload-too-large',
    );
    expectProblem(
      await raw('POST', '/v1/jobs', '{"type":"demo.sleep","payload":{"ms":1}}', 'text/plain'),
      415,
      'unsupported-media-type',
    );
    expectProblem(
      await raw('POST', '/v1/jobs', '{"type":"demo.sleep","payload":{"ms":1}}'),
      415,
      'unsupported-media-type',
    );
    expectProblem(
      await raw(
        'POST',
        '/v1/jobs',
        '{"type":"demo.sleep","payload":{"ms":1}}',
        'application/json; charset=latin-9',
      ),
      415,
      'unsupported-media-type',
    );
    expectProblem(
      await api.call('POST', '/v1/jobs', { body: { type: 'rm -rf', payload: {} }, sub: 'fuzzer' }),
      422,
      'unknown-job-type',
    );
    const invalid = await api.call('POST', '/v1/jobs', {
      body: { type: 'demo.sleep', payload: { ms: -1 }, x: 1 },
      sub: 'fuzzer',
    });
    expectProblem(invalid, 422, 'invalid-body');
    expect(invalid.body.errors.map((e: { pointer: string }) => e.pointer).sort()).toEqual(
      ['', '/payload/ms'].sort(),
    );
    expectProblem(await api.call('POST', '/v1/jobs', { body: [1, 2], sub: 'fuzzer' }), 422, 'invalid-body');
    expectProblem(await api.call('GET', '/v1/jobs/not-a-uuid', { sub: 'fuzzer' }), 400, 'invalid-parameter');
    expectProblem(await api.call('POST', '/v1/jobs/123/cancel', { sub: 'fuzzer' }), 400, 'invalid-parameter');
    expectProblem(await api.call('GET', '/v1/jobs/%E0%A4%A', { sub: 'fuzzer' }), 400, 'invalid-parameter');
    // Without a token the answer is 401, as on every other path: the decoding failure must not
    // answer before authentication.
    for (const [method, path] of [
      ['GET', '/v1/jobs/%E0%A4%A'],
      ['POST', '/v1/jobs/%E0%A4%A/cancel'],
    ] as const)
      expectProblem(await api.call(method, path, { auth: false }), 401, 'unauthorized');
    expectProblem(
      await api.call('GET', '/v1/jobs?cursor=bm90LWEtY3Vyc29y', { sub: 'fuzzer' }),
      400,
      'invalid-cursor',
    );
    expectProblem(
      await api.call('GET', '/v1/jobs?cursor=%F0%9F%92%A9', { sub: 'fuzzer' }),
      400,
      'invalid-cursor',
    );
    expectProblem(await api.call('GET', '/v1/jobs?limit=0', { sub: 'fuzzer' }), 400, 'invalid-parameter');
    expectProblem(await api.call('GET', '/v1/jobs?limit=abc', { sub: 'fuzzer' }), 400, 'invalid-parameter');
    expectProblem(await api.call('GET', '/v1/jobs?status=lost', { sub: 'fuzzer' }), 400, 'invalid-parameter');
    expectProblem(
      await api.call('GET', '/v1/jobs?limit=1&limit=2', { sub: 'fuzzer' }),
      400,
      'invalid-parameter',
    );
    expectProblem(await api.call('GET', '/v1/jobs?sort=id', { sub: 'fuzzer' }), 400, 'invalid-parameter');
    const notFound = await api.call('GET', '/v2/things', { sub: 'fuzzer' });
    expect(notFound.status).toBe(404);
    expect(notFound.body.type).toBe('/problems/not-found');
    const wrongMethod = await api.call('DELETE', '/v1/jobs', { sub: 'fuzzer' });
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('allow')).toBe('GET, POST');
  });

  it('drops a client that lies about its body length without answering 5xx or crashing', async () => {
    const status = await new Promise<number | 'closed'>((resolve) => {
      const req = request(`${api.url}/v1/jobs`, {
        method: 'POST',
        headers: { authorization: bearer, 'content-type': 'application/json', 'content-length': '1000' },
      });
      req.on('response', (res) => resolve(res.statusCode!));
      req.on('error', () => resolve('closed'));
      req.write('{"type":');
      setTimeout(() => req.destroy(), 200);
    });
    expect(status === 'closed' || (status >= 400 && status < 500)).toBe(true);
    expect((await api.call('GET', '/v1/jobs', { sub: 'fuzzer' })).status).toBe(200);
  });

  // Bodies shaped by the OpenAPI schema (known and unknown types, its payload field names, any JSON values).
  const payloadKeys = fc.constantFrom(
    'ms',
    'steps',
    'message',
    'failTimes',
    'extra',
    '__proto__',
    'constructor',
  );
  const body = fc.oneof(
    // Valid ones too, so the fuzz reaches the database path.
    fc.record({
      type: fc.constant('demo.sleep'),
      payload: fc.record({
        ms: fc.integer({ min: -5, max: 4_000_000 }),
        steps: fc.integer({ min: -1, max: 1001 }),
      }),
    }),
    fc.record(
      {
        type: fc.oneof(fc.constantFrom(...JOB_TYPES), fc.string({ maxLength: 20 })),
        payload: fc.oneof(
          fc.dictionary(payloadKeys, fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }),
          fc.jsonValue({ maxDepth: 2 }),
        ),
      },
      { requiredKeys: [] },
    ),
    fc.jsonValue({ maxDepth: 3 }),
  );

  async function expectNo5xx(response: ApiResponse): Promise<void> {
    expect(
      response.status,
      `${response.method} ${response.path} ${JSON.stringify(response.body)}`,
    ).toBeLessThan(500);
    if (response.status >= 400) expect(response.headers.get('content-type')).toBe('application/problem+json');
    // A path outside the document (`/v1/jobs//cancel`) gets the generic route 404, and a method the
    // document does not declare on a path (`/v1/jobs/./cancel` is `/v1/jobs/cancel` once the URL is
    // normalised: POST on a job id) the generic 405; everything else is declared.
    const generic = ['/problems/not-found', '/problems/method-not-allowed'];
    if (!generic.includes(response.body?.type)) expectMatchesOpenApi(response);
  }

  it('fuzz: generated bodies and idempotency keys on POST /v1/jobs never get a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(body, fc.option(fc.string({ minLength: 0, maxLength: 300 })), async (value, key) => {
        const response = await raw('POST', '/v1/jobs', JSON.stringify(value), 'application/json');
        await expectNo5xx(response);
        if (key !== null) {
          await expectNo5xx(
            await api.call('POST', '/v1/jobs', {
              body: value,
              sub: 'fuzzer',
              headers: { 'idempotency-key': key.replace(/[^\x20-\x7e]/g, '') },
            }),
          );
        }
      }),
      { numRuns: 150 },
    );
  });

  it('fuzz: generated ids, cursors, limits and statuses never get a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.string({ maxLength: 60 }),
        fc.string({ maxLength: 80 }),
        fc.oneof(fc.integer().map(String), fc.string({ maxLength: 6 })),
        fc.oneof(
          fc.constantFrom('queued', 'running', 'succeeded', 'failed', 'cancelled'),
          fc.string({ maxLength: 10 }),
        ),
        async (id, cursor, limit, status) => {
          const e = encodeURIComponent;
          await expectNo5xx(await api.call('GET', `/v1/jobs/${e(id)}`, { sub: 'fuzzer' }));
          await expectNo5xx(await api.call('POST', `/v1/jobs/${e(id)}/cancel`, { sub: 'fuzzer' }));
          await expectNo5xx(
            await api.call('GET', `/v1/jobs?cursor=${e(cursor)}&limit=${e(limit)}&status=${e(status)}`, {
              sub: 'fuzzer',
            }),
          );
        },
      ),
      { numRuns: 150 },
    );
  });
});
