import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { type CollectionResult, MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import type { Meter, Tracer } from '@opentelemetry/api';
import { context } from '@opentelemetry/api';

class PullReader extends MetricReader {
  protected override async onShutdown(): Promise<void> {}
  protected override async onForceFlush(): Promise<void> {}
}

/** A real SDK tracer + meter that keep what they record in memory, for assertions. */
export interface Harness {
  tracer: Tracer;
  meter: Meter;
  exporter: InMemorySpanExporter;
  collect(): Promise<CollectionResult>;
  close(): Promise<void>;
}

export function createHarness(): Harness {
  const contextManager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(contextManager);
  const exporter = new InMemorySpanExporter();
  const tracerProvider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  const reader = new PullReader();
  const meterProvider = new MeterProvider({ readers: [reader] });
  return {
    tracer: tracerProvider.getTracer('outage-test'),
    meter: meterProvider.getMeter('outage-test'),
    exporter,
    collect: () => reader.collect(),
    async close() {
      await tracerProvider.shutdown();
      await meterProvider.shutdown();
      context.disable();
    },
  };
}
