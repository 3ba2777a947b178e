import { once } from 'node:events';
import { SpanStatusCode } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { afterEach, describe, expect, it } from 'vitest';
import { WsClient } from '../src/index.ts';
import { EventLog, TestGateway } from './gateway.ts';
import { waitFor } from './wait.ts';

const TOKEN = 'telemetry-test-token-s3cr3t';

describe('WsClient telemetry', () => {
  const exporter = new InMemorySpanExporter();
  const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  const tracer = provider.getTracer('ws-client-test');
  const cleanups: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    exporter.reset();
  });

  it('records one ws.connect span per attempt: the initial one, a reconnect after 1012, and failed ones with their error', async () => {
    const log = new EventLog();
    const gateway = await TestGateway.start({ token: TOKEN, log });
    cleanups.push(() => gateway.stop());
    const client = new WsClient({
      url: gateway.url,
      token: TOKEN,
      tracer,
      restartReconnectDelayMs: 50,
      initialReconnectDelayMs: 50,
    });
    cleanups.push(() => client.close());
    await once(client, 'open');

    await gateway.stop(1012);
    // Nothing listens for a while: the reconnect attempts fail and are recorded as such.
    await waitFor('a failed attempt', () =>
      exporter.getFinishedSpans().some((s) => s.status.code === SpanStatusCode.ERROR),
    );
    const again = await TestGateway.start({ token: TOKEN, log, port: gateway.port });
    cleanups.push(() => again.stop());
    await once(client, 'open');

    const spans = exporter.getFinishedSpans().filter((s) => s.name === 'ws.connect');
    const reasons = spans.map((s) => s.attributes['tether.ws.reconnect_reason']);
    expect(reasons[0]).toBe('initial');
    expect(reasons[1]).toBe('restart');
    expect(spans[0]?.status.code).not.toBe(SpanStatusCode.ERROR);
    const failed = spans.filter((s) => s.status.code === SpanStatusCode.ERROR);
    expect(failed.length).toBeGreaterThanOrEqual(1);
    expect(failed[0]?.events.some((e) => e.name === 'exception')).toBe(true);
    expect(spans.at(-1)?.status.code).not.toBe(SpanStatusCode.ERROR);
    expect(spans.every((s) => s.attributes['server.address'] === '127.0.0.1')).toBe(true);
    // The token is a secret: it is in no attribute, event or status message.
    expect(JSON.stringify(spans.map((s) => [s.attributes, s.events, s.status]))).not.toContain(TOKEN);
  });
});
