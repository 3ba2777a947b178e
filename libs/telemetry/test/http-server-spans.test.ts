import { ROOT_CONTEXT, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { SamplingDecision, TraceIdRatioBasedSampler } from '@opentelemetry/sdk-trace';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, forkApp, waitFor } from './fork-app.ts';
import type { PlainSpan } from './fixtures/telemetry-first.ts';

// The lean server span (src/http-server-spans.ts), in real app processes: one sampling every new
// trace, one sampling none (parentbased_traceidratio at 0), both served by Express on a real socket.
let sampled: App;
let unsampled: App;
let disabled: App;
let half: App;

beforeAll(async () => {
  const env = { SPAN_EXPORT: 'memory', OTEL_TRACES_SAMPLER: 'parentbased_traceidratio' };
  [sampled, unsampled, disabled, half] = await Promise.all([
    forkApp('lean-http-app.ts', { ...env, SERVICE_NAME: 'lean', OTEL_TRACES_SAMPLER_ARG: '1' }),
    forkApp('lean-http-app.ts', { ...env, SERVICE_NAME: 'lean-unsampled', OTEL_TRACES_SAMPLER_ARG: '0' }),
    forkApp('lean-http-app.ts', { ...env, SERVICE_NAME: 'lean-disabled', OTEL_SDK_DISABLED: 'true' }),
    forkApp('lean-http-app.ts', { ...env, SERVICE_NAME: 'lean-half', OTEL_TRACES_SAMPLER_ARG: '0.5' }),
  ]);
});

afterAll(async () => {
  await Promise.all([sampled?.stop(), unsampled?.stop(), disabled?.stop(), half?.stop()]);
});

const url = (app: App, path: string) => `http://127.0.0.1:${app.ready['port']}${path}`;
const serverSpans = async (app: App) => (await app.spans()).filter((s) => s.kind === SpanKind.SERVER);

/** The server span of the one request to `path` (url.path is unique per test). */
function serverSpan(app: App, path: string): Promise<PlainSpan> {
  return waitFor(`server span for ${path}`, async () =>
    (await serverSpans(app)).find((s) => s.attributes['url.path'] === path),
  );
}

describe('the lean HTTP server span (diagnostics_channel, no http instrumentation)', () => {
  it('is named after the route template and carries the semantic-convention attributes', async () => {
    const response = await fetch(url(sampled, '/items/7?page=2&token=secret-in-query'), {
      headers: { 'user-agent': 'tether-test/1' },
    });
    expect(response.status).toBe(200);
    const span = await serverSpan(sampled, '/items/7');
    expect(span.name).toBe('GET /items/:id');
    expect(span.scope).toBe('@tether/telemetry/http-server');
    expect(span.attributes).toMatchObject({
      'http.request.method': 'GET',
      'http.route': '/items/:id',
      'http.response.status_code': 200,
      'url.scheme': 'http',
      'server.address': '127.0.0.1',
      'server.port': Number(sampled.ready['port']),
      'network.protocol.version': '1.1',
      'client.address': '127.0.0.1',
      'user_agent.original': 'tether-test/1',
    });
    expect(span.attributes['url.query']).toContain('page=2');
    expect(JSON.stringify(span)).not.toContain('secret-in-query');
    expect(span.status.code).toBe(SpanStatusCode.UNSET);
    // No Express layer spans by default: the route template is on the server span itself.
    expect((await sampled.spans()).some((s) => s.scope.includes('instrumentation-express'))).toBe(false);
  });

  it('gives the full template of a router mounted under a prefix, and the status it answered', async () => {
    expect((await fetch(url(sampled, '/v1/things/abc'))).status).toBe(201);
    const span = await serverSpan(sampled, '/v1/things/abc');
    expect(span.name).toBe('GET /v1/things/:thingId');
    expect(span.attributes['http.route']).toBe('/v1/things/:thingId');
    expect(span.attributes['http.response.status_code']).toBe(201);
  });

  it('names an unmatched request by its method only: 404, no http.route, not an error', async () => {
    expect((await fetch(url(sampled, '/nowhere'))).status).toBe(404);
    const span = await serverSpan(sampled, '/nowhere');
    expect(span.name).toBe('GET');
    expect(span.attributes['http.route']).toBeUndefined();
    expect(span.attributes['http.response.status_code']).toBe(404);
    expect(span.status.code).toBe(SpanStatusCode.UNSET);
  });

  it('marks a handler that throws: 500, status ERROR, error.type "500"', async () => {
    expect((await fetch(url(sampled, '/boom'))).status).toBe(500);
    const span = await serverSpan(sampled, '/boom');
    expect(span.name).toBe('GET /boom');
    expect(span.attributes['http.response.status_code']).toBe(500);
    expect(span.attributes['error.type']).toBe('500');
    expect(span.status.code).toBe(SpanStatusCode.ERROR);
  });

  it('ends the span of a request whose client went away before the response, as aborted', async () => {
    await expect(fetch(url(sampled, '/slow'), { signal: AbortSignal.timeout(200) })).rejects.toThrow();
    const span = await serverSpan(sampled, '/slow');
    expect(span.attributes['error.type']).toBe('aborted');
    expect(span.status.code).toBe(SpanStatusCode.ERROR);
    expect(span.attributes['http.response.status_code']).toBeUndefined();
  });

  it('continues an incoming sampled traceparent, and is the parent of what the handler propagates', async () => {
    const traceId = '0af7651916cd43dd8448eb211c80319c';
    const response = await fetch(url(sampled, '/items/11'), {
      headers: { traceparent: `00-${traceId}-b7ad6b7169203331-01` },
    });
    const { carrier } = (await response.json()) as { carrier: { traceparent?: string } };
    const span = await serverSpan(sampled, '/items/11');
    expect(span.traceId).toBe(traceId);
    expect(span.parentSpanId).toBe('b7ad6b7169203331');
    expect(carrier.traceparent).toBe(`00-${traceId}-${span.spanId}-01`);
  });

  it('respects an unsampled caller: no span, but its trace id and the not-sampled flag travel on', async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const response = await fetch(url(sampled, '/items/12'), {
      headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-00` },
    });
    const { carrier } = (await response.json()) as { carrier: { traceparent?: string } };
    expect(carrier.traceparent).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-00$`));
    // A later sampled request's span is exported; the unsampled one never is.
    await fetch(url(sampled, '/items/13'));
    await serverSpan(sampled, '/items/13');
    expect((await sampled.spans()).filter((s) => s.traceId === traceId)).toHaveLength(0);
  });

  it('produces no span at all for requests the ratio does not sample, yet gives each one a trace context', async () => {
    const carriers = await Promise.all(
      [1, 2, 3].map(async (i) => {
        const response = await fetch(url(unsampled, `/items/${i}`));
        return ((await response.json()) as { carrier: { traceparent?: string } }).carrier.traceparent;
      }),
    );
    for (const traceparent of carriers) expect(traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
    expect(new Set(carriers.map((c) => c?.split('-')[1])).size).toBe(3);
    expect(await unsampled.spans()).toHaveLength(0);
  });

  it('keeps the share of requests the ratio says, each by its trace id (decided once, not twice)', async () => {
    // The sampler runs before the SDK's tracer, and again inside it for a kept span: the tracer must
    // get the trace id already drawn. A second, independent draw would keep a quarter at 0.5.
    const ratio = new TraceIdRatioBasedSampler(0.5);
    const requests: { traceId: string; flags: string }[] = [];
    for (let batch = 0; batch < 8; batch++) {
      requests.push(
        ...(await Promise.all(
          Array.from({ length: 50 }, async (_, i) => {
            const response = await fetch(url(half, `/items/half-${batch}-${i}`));
            const { carrier } = (await response.json()) as { carrier: { traceparent: string } };
            const [, traceId, , flags] = carrier.traceparent.split('-') as [string, string, string, string];
            return { traceId, flags };
          }),
        )),
      );
    }
    const kept = requests.filter((r) => r.flags === '01');
    // 400 draws at 0.5: 200 ± 10 (one in a million outside 150..250); a double draw gives 100 ± 9.
    expect(kept.length).toBeGreaterThan(150);
    expect(kept.length).toBeLessThan(250);
    const spans = await waitFor('the kept server spans', async () => {
      const all = await serverSpans(half);
      return all.length >= kept.length ? all : undefined;
    });
    const exported = new Set(spans.map((s) => s.traceId));
    for (const r of requests) {
      // Exported exactly when sampled, and the decision is the ratio sampler's for that trace id.
      expect(exported.has(r.traceId)).toBe(r.flags === '01');
      const accepted =
        ratio.shouldSample(ROOT_CONTEXT, r.traceId).decision === SamplingDecision.RECORD_AND_SAMPLED;
      expect(accepted).toBe(r.flags === '01');
    }
  });

  it('counts every request in http.server.request.duration, sampled or not, and never probes', async () => {
    for (let i = 0; i < 4; i++) await (await fetch(url(unsampled, `/v1/things/t${i}`))).text();
    await (await fetch(url(unsampled, '/livez'))).text();
    const body = await (await fetch(url(unsampled, '/metrics'))).text();
    const count = body
      .split('\n')
      .find(
        (line) =>
          /^http_server_request_duration\w*_count\{/.test(line) && line.includes('/v1/things/:thingId'),
      );
    expect(count, body).toMatch(/http_response_status_code="201"/);
    expect(count).toMatch(/http_request_method="GET"/);
    expect(count).toMatch(/ 4$/);
    expect(body).not.toContain('http_route="/livez"');
    expect(body).not.toContain('http_route="/metrics"');
    expect(await unsampled.spans()).toHaveLength(0);
  });

  it('with OTEL_SDK_DISABLED=true patches nothing and traces nothing (control: the sampled app patches pg)', async () => {
    const patched = async (app: App) =>
      ((await (await fetch(url(app, '/pg-patched'))).json()) as { patched: boolean }).patched;
    expect(await patched(disabled)).toBe(false);
    expect(await patched(sampled)).toBe(true);
    const response = await fetch(url(disabled, '/items/5'));
    expect(((await response.json()) as { carrier: object }).carrier).toEqual({});
    expect(await disabled.spans()).toHaveLength(0);
  });
});
