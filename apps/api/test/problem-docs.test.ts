import { createServer } from 'node:net';
import type { EphemeralPostgres } from '@tether/devstack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { outageProblem } from '../src/outage.ts';
import { renderProblemIndex, renderProblemPage } from '../src/problem-docs.ts';
import { PROBLEMS, type ProblemDefinition } from '../src/problems.ts';
import {
  expectMatchesOpenApi,
  expectProblem,
  startApi,
  startMigratedPostgres,
  type ApiResponse,
  type RunningApi,
} from './support.ts';

/** A port nothing listens on: the database of an API in a real outage (connection refused). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * expectProblem, except for the two generic answers: a path or method outside the OpenAPI document has
 * no operation there to check against.
 */
function expectAnswer(response: ApiResponse, status: number, slug: string): void {
  if (slug !== 'not-found' && slug !== 'method-not-allowed') return expectProblem(response, status, slug);
  expect({ status: response.status, type: response.body?.type }).toEqual({
    status,
    type: `/problems/${slug}`,
  });
  expect(response.headers.get('content-type')).toBe('application/problem+json');
}

describe('problem types point into the catalogue: GET /problems/<slug>', () => {
  let pg: EphemeralPostgres;
  let api: RunningApi;
  let down: RunningApi;
  let buggy: RunningApi;
  beforeAll(async () => {
    pg = await startMigratedPostgres();
    api = await startApi(pg.url);
    down = await startApi(`postgres://tether@127.0.0.1:${await closedPort()}/tether`, { dbDeadlineMs: 500 });
    // A bug in a collaborator (here the authenticator) is what the API answers 500 for.
    buggy = await startApi(pg.url, {
      authenticate: async () => {
        throw new TypeError("Cannot read properties of undefined (reading 'sub')");
      },
      onInternalError: () => {},
    });
  });
  afterAll(async () => {
    await buggy?.close();
    await down?.close();
    await api?.close();
    await pg?.close();
  });

  /** One real error answer for every slug the API can answer with, and the API that gave it. */
  async function realErrors(): Promise<[string, ApiResponse, RunningApi][]> {
    const body = { type: 'demo.sleep', payload: { ms: 1, steps: 1 } };
    const job = await api.call('POST', '/v1/jobs', { body });
    expect(job.status).toBe(202);
    expect((await api.call('POST', `/v1/jobs/${job.body.id}/cancel`)).status).toBe(200);
    await api.call('POST', '/v1/jobs', { body, headers: { 'idempotency-key': 'docs-1' } });
    const json = { 'content-type': 'application/json' };
    const answers: [string, ApiResponse, RunningApi?][] = [
      ['unauthorized', await api.call('GET', '/v1/jobs', { auth: false })],
      ['malformed-json', await api.call('POST', '/v1/jobs', { rawBody: '{"type":', headers: json })],
      ['invalid-parameter', await api.call('GET', '/v1/jobs/123')],
      ['invalid-cursor', await api.call('GET', '/v1/jobs?cursor=bm90LWEtY3Vyc29y')],
      [
        'invalid-idempotency-key',
        await api.call('POST', '/v1/jobs', { body, headers: { 'idempotency-key': 'k'.repeat(256) } }),
      ],
      ['job-not-found', await api.call('GET', '/v1/jobs/00000000-0000-4000-8000-000000000000')],
      ['not-found', await api.call('GET', '/v2/things')],
      ['method-not-allowed', await api.call('DELETE', '/v1/jobs')],
      ['job-finished', await api.call('POST', `/v1/jobs/${job.body.id}/cancel`)],
      [
        'payload-too-large',
        await api.call('POST', '/v1/jobs', { body: { ...body, pad: 'x'.repeat(100_000) } }),
      ],
      [
        'unsupported-media-type',
        await api.call('POST', '/v1/jobs', { rawBody: 'hello', headers: { 'content-type': 'text/plain' } }),
      ],
      ['invalid-body', await api.call('POST', '/v1/jobs', { body: { ...body, payload: { ms: -1 } } })],
      ['unknown-job-type', await api.call('POST', '/v1/jobs', { body: { type: 'nope', payload: {} } })],
      [
        'idempotency-key-reused',
        await api.call('POST', '/v1/jobs', {
          body: { ...body, payload: { ms: 2, steps: 1 } },
          headers: { 'idempotency-key': 'docs-1' },
        }),
      ],
      ['service-unavailable', await down.call('POST', '/v1/jobs', { body }), down],
      ['internal-error', await buggy.call('GET', '/v1/jobs'), buggy],
    ];
    return answers.map(([slug, response, from]) => [slug, response, from ?? api]);
  }

  it("resolves the type of every real error answer, against the request's URL, to its page", async () => {
    const answers = await realErrors();
    // Every slug in the table is covered: a new one without a real answer here fails this test.
    expect(answers.map(([slug]) => slug).sort()).toEqual(Object.keys(PROBLEMS).sort());
    for (const [slug, response, from] of answers) {
      expectAnswer(response, PROBLEMS[slug as keyof typeof PROBLEMS].status, slug);
      const requestUrl = new URL(response.path, from.url);
      const page = new URL(response.body.type, requestUrl);
      expect(page.origin).toBe(requestUrl.origin);

      const html = await fetch(page);
      expect(html.status, page.href).toBe(200);
      expect(html.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(await html.text()).toContain(`<h1>${response.body.title}</h1>`);

      const json = await fetch(page, { headers: { accept: 'application/json' } });
      expect(json.status, page.href).toBe(200);
      expect(await json.json()).toMatchObject({
        type: response.body.type,
        slug,
        status: response.status,
        title: response.body.title,
      });
    }
  });

  it('control: the old urn type resolves to nothing fetch can dereference', async () => {
    const urn = new URL('urn:tether:problem:job-not-found', `${api.url}/v1/jobs/x`);
    expect(urn.href).toBe('urn:tether:problem:job-not-found');
    await expect(fetch(urn)).rejects.toThrow();
  });

  it('serves the pages and the index without a token, as the OpenAPI document declares', async () => {
    const index = await api.call('GET', '/problems', { auth: false });
    expect(index.status).toBe(200);
    expect(index.headers.get('vary')).toBe('Accept');
    expectMatchesOpenApi(index);
    for (const slug of Object.keys(PROBLEMS)) expect(index.body).toContain(`<a href="/problems/${slug}">`);

    const listed = await api.call('GET', '/problems', {
      auth: false,
      headers: { accept: 'application/json' },
    });
    expectMatchesOpenApi(listed);
    expect(listed.body.problems.map((p: { slug: string }) => p.slug)).toEqual(Object.keys(PROBLEMS));

    const one = await api.call('GET', '/problems/service-unavailable', {
      auth: false,
      headers: { accept: 'application/json' },
    });
    expectMatchesOpenApi(one);
    expect(one.body.codes).toContain('TETHER_DEADLINE_EXCEEDED');
    // A browser's Accept gets HTML.
    const browser = await api.call('GET', '/problems/service-unavailable', {
      auth: false,
      headers: { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' },
    });
    expect(browser.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(browser.headers.get('content-security-policy')).toBe(
      "default-src 'none'; style-src 'unsafe-inline'",
    );
    expectMatchesOpenApi(browser);

    const document = (await api.call('GET', '/openapi.json', { auth: false })).body;
    expect(document.components.schemas.Problem.properties.type.description).toMatch(/\/problems\/<slug>/);
    expect(document.paths['/problems/{slug}'].get.parameters[0].schema.enum).toEqual(Object.keys(PROBLEMS));
  });

  it('answers an unknown slug with 404 problem+json, never an HTML page echoing it', async () => {
    for (const slug of [
      'no-such-problem',
      '%3Cscript%3Ealert(1)%3C%2Fscript%3E',
      'constructor',
      '__proto__',
    ]) {
      for (const accept of ['text/html', 'application/json']) {
        const response = await api.call('GET', `/problems/${slug}`, { auth: false, headers: { accept } });
        expectProblem(response, 404, 'not-found');
        expect(response.body.detail).toMatch(/^no problem type "/);
      }
    }
    const wrongMethod = await api.call('POST', '/problems/not-found');
    expectAnswer(wrongMethod, 405, 'method-not-allowed');
    expect(wrongMethod.headers.get('allow')).toBe('GET');
  });

  it('escapes everything it writes into HTML', () => {
    const hostile: ProblemDefinition = {
      status: 418,
      title: '<script>alert("title")</script>',
      meaning: 'a `<img src=x onerror=alert(1)>` & <b>bold</b>',
      action: "it's \"quoted\" </dd><script>alert('action')</script>",
      codes: ['TETHER_<svg onload=alert(1)>'],
    };
    const slug = '"><script>alert(1)</script>';
    for (const html of [renderProblemPage(slug, hostile), renderProblemIndex([[slug, hostile]])]) {
      expect(html).not.toMatch(/<(script|img|svg|b)\b/);
      expect(html).toContain('&lt;script&gt;alert(');
    }
    expect(renderProblemIndex([[slug, hostile]])).toContain('href="/problems/&quot;&gt;&lt;script&gt;');
    const page = renderProblemPage(slug, hostile);
    expect(page).toContain('<code>&lt;img src=x onerror=alert(1)&gt;</code> &amp; &lt;b&gt;bold&lt;/b&gt;');
    expect(page).toContain('it&#39;s &quot;quoted&quot; &lt;/dd&gt;');
  });
});

describe('the codes a problem page lists', () => {
  it('are the codes the API answers 503 for, as outage.ts decides', () => {
    // TETHER_AUTH_KEYS_UNAVAILABLE takes its own path (auth.ts; auth.test.ts, JWKS down -> 503).
    const listed = PROBLEMS['service-unavailable'].codes.filter((c) => c !== 'TETHER_AUTH_KEYS_UNAVAILABLE');
    expect(listed.length).toBeGreaterThan(0);
    for (const code of listed) expect(outageProblem({ code })?.slug, code).toBe('service-unavailable');
    // Control: a code the page does not list is not an outage.
    expect(outageProblem({ code: 'TETHER_JOBS_NOT_FOUND' })).toBeUndefined();
  });
});
