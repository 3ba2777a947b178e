import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import { SpanKind, type SpanContext } from '@opentelemetry/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ask } from './ask.ts';
import { type App, forkApp } from './fork-app.ts';
import type { PlainSpan } from './fixtures/plain-span.ts';

// A real HTTP server that records what each request carried; the apps call it with Node's fetch.
const received = new Map<string, string | undefined>();
let server: Server;
let base: string;
let traced: App;
let untraced: App;
let extended: App;

beforeAll(async () => {
  server = createServer((request, response) => {
    const tag = new URL(request.url ?? '/', 'http://x').searchParams.get('tag') ?? '';
    received.set(tag, request.headers['traceparent'] as string | undefined);
    response.writeHead(200, { 'content-type': 'text/plain' });
    response.end('ok');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  const fetchOff = JSON.stringify({ instrumentations: { fetch: false } });
  [traced, untraced, extended] = await Promise.all([
    forkApp('fetch-metrics-app.ts', {}),
    forkApp('fetch-metrics-app.ts', { TELEMETRY_OPTIONS: fetchOff }),
    forkApp('fetch-metrics-app.ts', { EXTENSIONS: '1', TELEMETRY_OPTIONS: fetchOff }),
  ]);
});

afterAll(async () => {
  await Promise.all([traced?.stop(), untraced?.stop(), extended?.stop()]);
  server?.close();
});

async function call(app: App, tag: string, inSpan: boolean, query = '') {
  const reply = await ask<{ status: number; outer?: SpanContext }>(app, {
    op: 'fetch',
    url: `${base}/items/7?tag=${tag}${query}`,
    inSpan,
  });
  expect(reply.status).toBe(200);
  const { spans } = await ask<{ spans: PlainSpan[] }>(app, { op: 'spans' });
  const client = spans.find(
    (s) => s.kind === SpanKind.CLIENT && String(s.attributes['url.full']).includes(`tag=${tag}`),
  );
  return { outer: reply.outer, client, traceparent: received.get(tag) };
}

describe('fetch (undici) instrumentation, against a real HTTP server', () => {
  it('gives a fetch inside a request a CLIENT span and sends its traceparent; secrets in the URL are masked', async () => {
    const { outer, client, traceparent } = await call(
      traced,
      'in-span',
      true,
      '&access_token=qs-secret&page=2',
    );
    expect(client, 'client span').toBeDefined();
    expect(client?.scope).toBe('@opentelemetry/instrumentation-undici');
    expect(client?.name).toBe('GET');
    expect(client?.traceId).toBe(outer?.traceId);
    expect(client?.parentSpanId).toBe(outer?.spanId);
    // The server saw the client span as its parent: the trace continues across the hop.
    expect(traceparent).toBe(`00-${client?.traceId}-${client?.spanId}-01`);
    expect(client?.attributes).toMatchObject({
      'http.request.method': 'GET',
      'http.response.status_code': 200,
      'server.address': '127.0.0.1',
      'url.path': '/items/7',
    });
    expect(client?.attributes['url.full']).toContain('access_token=***');
    expect(client?.attributes['url.full']).toContain('page=2');
    expect(client?.attributes['url.query']).toContain('access_token=***');
    expect(JSON.stringify(client?.attributes)).not.toContain('qs-secret');
  });

  it('control: without the fetch instrumentation the same call carries no traceparent and has no span', async () => {
    const { outer, client, traceparent } = await call(untraced, 'control', true);
    expect(outer?.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(traceparent).toBeUndefined();
    expect(client).toBeUndefined();
  });

  it('starts no trace for a fetch outside any request (JWKS refresh, health checks)', async () => {
    const { client, traceparent } = await call(traced, 'no-parent', false);
    expect(traceparent).toBeUndefined();
    expect(client).toBeUndefined();
  });

  it('loads extra instrumentations with the SDK: an undici instrumentation configured differently traces parentless calls', async () => {
    const { client, traceparent } = await call(extended, 'extra', false);
    expect(client?.scope).toBe('@opentelemetry/instrumentation-undici');
    expect(client?.parentSpanId).toBeUndefined();
    expect(traceparent).toBe(`00-${client?.traceId}-${client?.spanId}-01`);
  });
});
