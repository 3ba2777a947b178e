import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import { Writable } from 'node:stream';
import { SpanKind, trace } from '@opentelemetry/api';
import {
  InMemorySpanExporter,
  SimpleSpanProcessor,
  TraceIdRatioBasedSampler,
  TracerProvider,
} from '@opentelemetry/sdk-trace';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import {
  createLogger,
  extractTraceContext,
  injectTraceContext,
  OutageAwareSampler,
  OutageTracker,
  type Telemetry,
  TelemetryAlreadyStartedError,
  TelemetryConfigError,
  startTelemetry,
  traceConsumer,
  traceWebSocketHandshake,
  traceWebSocketMessage,
} from '../src/index.ts';

// One SDK per process: this file starts it once, in-process, and checks everything that needs no
// module patching (those checks run the app in a child process: express-pg.test.ts).
const memory = new InMemorySpanExporter();
let telemetry: Telemetry;
let admin: Server;
let adminUrl: string;

beforeAll(async () => {
  process.env['K8S_POD_NAME'] = 'api-7d9f-abcde';
  process.env['K8S_NAMESPACE_NAME'] = 'tether';
  process.env['K8S_NODE_NAME'] = 'node-a';
  process.env['OTEL_RESOURCE_ATTRIBUTES'] = 'team=platform';
  telemetry = startTelemetry({
    serviceName: 'api',
    serviceVersion: '1.2.3',
    spanProcessors: [new SimpleSpanProcessor({ exporter: memory })],
  });
  admin = createServer((req, res) => telemetry.metricsHandler(req, res)).listen(0, '127.0.0.1');
  await once(admin, 'listening');
  const address = admin.address();
  adminUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
});

afterAll(async () => {
  admin?.close();
  await telemetry?.shutdown();
});

// Spans wait for the resource's async attributes (host detector) before export: flush first.
async function finished(name: string) {
  await telemetry.forceFlush();
  return memory.getFinishedSpans().filter((s) => s.name === name);
}

describe('startTelemetry', () => {
  it('describes the process with service and Kubernetes resource attributes', async () => {
    telemetry.tracer.startSpan('resource probe').end();
    const [span] = await finished('resource probe');
    expect(span?.resource.attributes).toMatchObject({
      'service.name': 'api',
      'service.version': '1.2.3',
      'k8s.pod.name': 'api-7d9f-abcde',
      'k8s.namespace.name': 'tether',
      'k8s.node.name': 'node-a',
      'service.instance.id': 'api-7d9f-abcde',
      team: 'platform',
    });
  });

  it('serves outage metrics in Prometheus text format through metricsHandler', async () => {
    const tracker = new OutageTracker({ dependency: 'redis' });
    tracker.failure(new Error('ECONNREFUSED'));
    await new Promise((r) => setTimeout(r, 20));
    tracker.success();
    const response = await fetch(`${adminUrl}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/plain');
    const body = await response.text();
    expect(body).toMatch(/tether_outage_count(_total)?\{[^}]*tether_outage_dependency="redis"[^}]*\} 1/);
    expect(body).toMatch(/tether_outage_duration(_seconds)?_count\{[^}]*tether_outage_dependency="redis"/);
    // The outage span went through the SDK too.
    expect(await finished('outage redis')).toHaveLength(1);
  });

  it('refuses a second start and bad options, naming the field', () => {
    expect(() => startTelemetry({ serviceName: 'again' })).toThrow(TelemetryAlreadyStartedError);
    expect(() => startTelemetry({ serviceName: '' })).toThrow(
      'serviceName must be a non-empty string, got ""',
    );
    expect(() => startTelemetry({ serviceName: 'x', sampleRatio: 1.5 })).toThrow(
      'sampleRatio must be a number between 0 and 1, got 1.5',
    );
    expect(() => startTelemetry({ serviceName: 'x', instrumentations: { mongo: true } as never })).toThrow(
      'instrumentations.mongo is not a known option',
    );
    expect(() => startTelemetry({ serviceName: 'x', shutdownTimeoutMs: -1 })).toThrow(
      'shutdownTimeoutMs must be an integer >= 1, got -1',
    );
    process.env['OTEL_TRACES_SAMPLER'] = 'sometimes';
    try {
      const error = (() => {
        try {
          startTelemetry({ serviceName: 'x' });
        } catch (e) {
          return e;
        }
      })();
      expect(error).toBeInstanceOf(TelemetryConfigError);
      expect(error).toMatchObject({ code: 'TETHER_INVALID_OPTION', field: 'OTEL_TRACES_SAMPLER' });
    } finally {
      delete process.env['OTEL_TRACES_SAMPLER'];
    }
  });
});

describe('sampling', () => {
  it('keeps outage spans even when new traces are sampled at 0 %', () => {
    const exporter = new InMemorySpanExporter();
    const provider = new TracerProvider({
      sampler: new OutageAwareSampler(new TraceIdRatioBasedSampler(0)),
      spanProcessors: [new SimpleSpanProcessor({ exporter })],
    });
    const tracer = provider.getTracer('sampling');
    tracer.startSpan('GET /v1/jobs').end();
    const tracker = new OutageTracker({ dependency: 'postgres', tracer });
    tracker.failure();
    tracker.success();
    expect(exporter.getFinishedSpans().map((s) => s.name)).toEqual(['outage postgres']);
  });
});

describe('trace context in job payloads', () => {
  it('continues the producer trace in the consumer (child mode, the default)', async () => {
    const carrier = telemetry.tracer.startActiveSpan('POST /v1/jobs', (span) => {
      const c = injectTraceContext();
      span.end();
      return c;
    });
    expect(carrier.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    // Round trip through JSON, as a jsonb column would do it.
    const stored = JSON.parse(JSON.stringify({ type: 'demo.sleep', trace: carrier })) as { trace: unknown };
    const inner = await traceConsumer('job demo.sleep', stored.trace, async () => {
      await new Promise((r) => setTimeout(r, 5));
      return trace.getActiveSpan()?.spanContext().spanId;
    });
    const [producer] = await finished('POST /v1/jobs');
    const [job] = await finished('job demo.sleep');
    expect(job?.kind).toBe(SpanKind.CONSUMER);
    expect(job?.spanContext().traceId).toBe(producer?.spanContext().traceId);
    expect(job?.parentSpanContext?.spanId).toBe(producer?.spanContext().spanId);
    expect(inner).toBe(job?.spanContext().spanId);
  });

  it('starts a new trace linked to the producer in link mode, and survives garbage carriers', async () => {
    const carrier = telemetry.tracer.startActiveSpan('enqueue batch', (span) => {
      span.end();
      return injectTraceContext();
    });
    traceConsumer('job linked', carrier, () => undefined, { mode: 'link' });
    const [producer] = await finished('enqueue batch');
    const [linked] = await finished('job linked');
    expect(linked?.spanContext().traceId).not.toBe(producer?.spanContext().traceId);
    expect(linked?.links[0]?.context.spanId).toBe(producer?.spanContext().spanId);

    for (const garbage of [
      undefined,
      null,
      42,
      'x',
      { traceparent: 'not-a-traceparent' },
      { traceparent: 7 },
    ]) {
      expect(trace.getSpanContext(extractTraceContext(garbage))).toBeUndefined();
    }
    expect(() => traceConsumer('job garbage', { traceparent: '00-zz' }, () => 1)).not.toThrow();
    expect((await finished('job garbage'))[0]?.parentSpanContext).toBeUndefined();
  });

  it('marks the consumer span ERROR and rethrows the original error', async () => {
    const boom = new Error('job failed for postgres://u:hunter2@db/x');
    await expect(traceConsumer('job failing', {}, async () => Promise.reject(boom))).rejects.toBe(boom);
    const [span] = await finished('job failing');
    expect(span?.status.code).toBe(2);
    expect(JSON.stringify(span?.attributes)).not.toContain('hunter2');
  });

  it('injects nothing outside a span', () => {
    expect(injectTraceContext()).toEqual({});
  });
});

describe('WebSocket spans (real ws server and client)', () => {
  let wss: WebSocketServer;
  let server: Server;
  let url: string;

  beforeAll(async () => {
    wss = new WebSocketServer({ noServer: true });
    server = createServer();
    server.on('upgrade', (request, socket, head) => {
      traceWebSocketHandshake(request, (span) => {
        if (!String(request.url).includes('access_token=good')) {
          span.setAttribute('http.response.status_code', 401);
          socket.end('HTTP/1.1 401 Unauthorized\r\n\r\n');
          return;
        }
        const connection = span.spanContext();
        wss.handleUpgrade(request, socket, head, (ws) => {
          ws.on('message', (data) => {
            const message = JSON.parse(String(data)) as { op: string; jobId: string };
            traceWebSocketMessage(
              'receive',
              { type: message.op, connection, attributes: { 'tether.job.id': message.jobId } },
              () => {
                // The server answers with an event carrying the trace of a (pretend) job.
                const job = telemetry.tracer.startSpan('job ws-demo');
                const jobCarrier = injectTraceContext(trace.setSpan(extractTraceContext({}), job));
                job.end();
                traceWebSocketMessage('send', { type: 'progress', connection, carrier: jobCarrier }, () => {
                  ws.send(
                    JSON.stringify({
                      id: '1',
                      jobId: message.jobId,
                      type: 'progress',
                      data: {},
                      trace: injectTraceContext(),
                    }),
                  );
                });
              },
            );
          });
        });
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const address = server.address();
    url = `ws://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/v1/stream`;
  });

  afterAll(() => {
    for (const client of wss.clients) client.terminate();
    wss.close();
    server.close();
  });

  it('traces the handshake (continuing the client trace, without the token), messages in and out', async () => {
    const clientSpan = telemetry.tracer.startSpan('client connect');
    const traceparent = injectTraceContext(trace.setSpan(extractTraceContext({}), clientSpan))
      .traceparent as string;
    clientSpan.end();
    const ws = new WebSocket(`${url}?access_token=good`, { headers: { traceparent } });
    await once(ws, 'open');
    ws.send(JSON.stringify({ op: 'subscribe', jobId: 'j1' }));
    const [raw] = await once(ws, 'message');
    const event = JSON.parse(String(raw)) as { trace: { traceparent: string } };
    ws.close();

    const [handshake] = await finished('WS /v1/stream');
    const [receive] = await finished('WS receive subscribe');
    const [send] = await finished('WS send progress');
    const [job] = await finished('job ws-demo');
    expect(handshake?.kind).toBe(SpanKind.SERVER);
    expect(handshake?.spanContext().traceId).toBe(clientSpan.spanContext().traceId);
    expect(handshake?.attributes['url.path']).toBe('/v1/stream');
    expect(JSON.stringify(handshake?.attributes)).not.toContain('good');
    expect(receive?.kind).toBe(SpanKind.CONSUMER);
    expect(receive?.links[0]?.context.spanId).toBe(handshake?.spanContext().spanId);
    expect(receive?.spanContext().traceId).not.toBe(handshake?.spanContext().traceId);
    expect(send?.kind).toBe(SpanKind.PRODUCER);
    expect(send?.spanContext().traceId).toBe(job?.spanContext().traceId);
    // The client receives the event's trace context and can continue it.
    expect(event.trace.traceparent.split('-')[1]).toBe(job?.spanContext().traceId);
    expect(event.trace.traceparent.split('-')[2]).toBe(send?.spanContext().spanId);
  });

  it('records a refused handshake with its status', async () => {
    const ws = new WebSocket(`${url}?access_token=bad`);
    const [error] = await once(ws, 'error');
    expect(String((error as Error).message)).toContain('401');
    const refused = (await finished('WS /v1/stream')).find(
      (s) => s.attributes['http.response.status_code'] === 401,
    );
    expect(refused).toBeDefined();
  });
});

describe('createLogger', () => {
  function capture(): { stream: Writable; lines: () => Record<string, unknown>[]; text: () => string } {
    let text = '';
    const stream = new Writable({
      write(chunk, _enc, done) {
        text += String(chunk);
        done();
      },
    });
    return {
      stream,
      text: () => text,
      lines: () =>
        text
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as Record<string, unknown>),
    };
  }

  it('stamps trace_id/span_id inside a span, nothing outside', () => {
    const out = capture();
    const logger = createLogger({ name: 'api', destination: out.stream });
    logger.info('outside');
    const ids = telemetry.tracer.startActiveSpan('request', (span) => {
      logger.info('inside');
      span.end();
      return span.spanContext();
    });
    const [outside, inside] = out.lines();
    expect(outside?.['trace_id']).toBeUndefined();
    expect(inside).toMatchObject({
      trace_id: ids.traceId,
      span_id: ids.spanId,
      trace_flags: '01',
      name: 'api',
    });
  });

  it('redacts secrets by key at any depth and inside strings; a plain pino logger leaks them (control)', () => {
    const config = {
      databaseUrl: 'postgres://tether:pg-pass-123@db:5432/tether',
      redis: { sentinels: [{ host: 's1', password: 'sentinel-pass' }] },
      AUTH_JWT_SECRET: 'jwt-secret-xyz',
      apiKey: 'key-456',
      headers: { Authorization: 'Bearer tok-789', cookie: 'sid=cookie-000' },
      dsn: 'host=db user=tether password=kw-pass-321 sslmode=require',
      dbPassword: 'camel-pass',
      db_password: 'snake-pass',
      upstream: { 'x-api-key': 'kebab-key', url: 'https://api/x?api_key=qs-key&page=2' },
      // Look-alikes that must stay readable: whole words only.
      usage: { max_tokens: 4096, passed: 3, compass: 'N', tokenizer: 'bpe', keyspace: 'db0' },
    };
    const error = new Error('connect failed: postgres://tether:pg-pass-123@db:5432/tether', {
      cause: { password: 'cause-pass' },
    });
    const secrets = [
      'pg-pass-123',
      'sentinel-pass',
      'jwt-secret-xyz',
      'key-456',
      'tok-789',
      'cookie-000',
      'kw-pass-321',
      'cause-pass',
      'camel-pass',
      'snake-pass',
      'kebab-key',
      'qs-key',
    ];

    const control = capture();
    pino(control.stream).info({ config, err: error }, 'config loaded');
    expect(secrets.filter((s) => control.text().includes(s)).length).toBeGreaterThan(5);

    const out = capture();
    const logger = createLogger({ destination: out.stream, redactKeys: ['sessionId'] });
    logger.info({ config, sessionId: 'abc' }, 'config loaded');
    logger.error({ err: error }, 'db down');
    logger.child({ password: 'child-pass' }).info('with bindings: Bearer tok-789 and ?access_token=qs-tok');
    const text = out.text();
    for (const secret of [...secrets, 'child-pass', 'qs-tok', '"abc"'])
      expect(text, secret).not.toContain(secret);
    const [first, second] = out.lines();
    expect((first?.['config'] as Record<string, unknown>)['databaseUrl']).toBe(
      'postgres://***@db:5432/tether',
    );
    expect((first?.['config'] as Record<string, unknown>)['usage']).toEqual(config.usage);
    expect((first?.['config'] as { upstream: { url: string } }).upstream.url).toBe(
      'https://api/x?api_key=***&page=2',
    );
    expect(second?.['err']).toMatchObject({
      type: 'Error',
      message: 'connect failed: postgres://***@db:5432/tether',
    });
  });

  it('rejects an unknown level naming LOG_LEVEL', () => {
    process.env['LOG_LEVEL'] = 'loud';
    try {
      expect(() => createLogger()).toThrow(/LOG_LEVEL/);
    } finally {
      delete process.env['LOG_LEVEL'];
    }
  });
});
