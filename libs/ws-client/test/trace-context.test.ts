import { once } from 'node:events';
import { context, type Span, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { WsClient } from '../src/index.ts';
import { EventLog, TestGateway } from './gateway.ts';
import { waitFor } from './wait.ts';

const TOKEN = 'trace-context-token';
const exporter = new InMemorySpanExporter();
const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
const tracer = provider.getTracer('trace-context-test');
// What @tether/telemetry installs in the apps: AsyncLocalStorage carries the active span into callbacks.
const contextManager = new AsyncLocalStorageContextManager();
beforeAll(() => void context.setGlobalContextManager(contextManager.enable()));
afterAll(() => context.disable());

const cleanups: Array<() => Promise<unknown> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  exporter.reset();
});

async function gateway(log = new EventLog()): Promise<TestGateway> {
  const gw = await TestGateway.start({ token: TOKEN, log });
  cleanups.push(() => gw.stop());
  return gw;
}

/** Runs `fn` inside a "request" span, as an Express handler that creates the client would. */
function inRequest<T>(fn: () => T): { request: Span; result: T } {
  const request = tracer.startSpan('GET /jobs/:id/follow');
  const result = context.with(trace.setSpan(context.active(), request), fn);
  request.end();
  return { request, result };
}

describe('WsClient trace context', () => {
  it('connect and reconnect spans are trace roots linked to the creating request; listeners run with no active span', async () => {
    const log = new EventLog();
    const gw = await gateway(log);
    const { request, result: client } = inRequest(
      () => new WsClient({ url: gw.url, token: TOKEN, tracer, restartReconnectDelayMs: 50 }),
    );
    cleanups.push(() => client.close());
    const activeInListeners: Array<Span | undefined> = [];
    client.on('open', () => activeInListeners.push(trace.getActiveSpan()));
    client.on('event', () => activeInListeners.push(trace.getActiveSpan()));
    client.on('disconnected', () => activeInListeners.push(trace.getActiveSpan()));
    client.subscribe('job-a');
    await once(client, 'open');
    log.append('job-a');
    await once(client, 'event');

    gw.closeAll(1012);
    await once(client, 'open');
    log.append('job-a');
    await once(client, 'event');

    const connects = exporter.getFinishedSpans().filter((s) => s.name === 'ws.connect');
    expect(connects.map((s) => s.attributes['tether.ws.reconnect_reason'])).toEqual(['initial', 'restart']);
    for (const span of connects) {
      expect(span.parentSpanContext).toBeUndefined();
      expect(span.spanContext().traceId).not.toBe(request.spanContext().traceId);
      expect(span.links.map((l) => l.context.spanId)).toEqual([request.spanContext().spanId]);
    }
    // Each attempt is its own trace.
    expect(new Set(connects.map((s) => s.spanContext().traceId)).size).toBe(2);
    expect(activeInListeners.length).toBe(5);
    expect(activeInListeners.every((span) => span === undefined)).toBe(true);
  });

  it('a client created outside any span has connect spans without links', async () => {
    const gw = await gateway();
    const client = new WsClient({ url: gw.url, token: TOKEN, tracer });
    cleanups.push(() => client.close());
    await once(client, 'open');
    const [connect] = exporter.getFinishedSpans().filter((s) => s.name === 'ws.connect');
    expect(connect?.parentSpanContext).toBeUndefined();
    expect(connect?.links).toEqual([]);
  });

  it('CONTROL: a plain ws client made inside a request hands that request’s context to every later callback, so its reconnect spans become children of a finished request', async () => {
    const gw = await gateway();
    const seen: Array<Span | undefined> = [];
    const reconnectSpans: string[] = [];
    const { request } = inRequest(() => {
      const connect = (): void => {
        // What the client did before: startSpan without root, in whatever context is active.
        const span = tracer.startSpan('naive.connect');
        reconnectSpans.push(span.spanContext().spanId);
        span.end();
        const ws = new WebSocket(gw.url, { headers: { authorization: `Bearer ${TOKEN}` } });
        ws.on('error', () => undefined);
        ws.on('open', () => seen.push(trace.getActiveSpan()));
        ws.on('close', () => {
          seen.push(trace.getActiveSpan());
          if (reconnectSpans.length < 2) setTimeout(connect, 50);
        });
        cleanups.push(() => ws.terminate());
      };
      connect();
    });
    await waitFor('the first connection', () => gw.clientCount === 1);
    gw.closeAll(1012);
    await waitFor('the reconnect', () => reconnectSpans.length === 2 && gw.clientCount === 1);

    const naive = exporter.getFinishedSpans().filter((s) => s.name === 'naive.connect');
    expect(naive).toHaveLength(2);
    // The reconnect, long after the request ended, is still filed under it.
    expect(naive.map((s) => s.parentSpanContext?.spanId)).toEqual([
      request.spanContext().spanId,
      request.spanContext().spanId,
    ]);
    expect(seen.length).toBeGreaterThanOrEqual(2);
    expect(seen.every((span) => span === request)).toBe(true);
  });
});
