import { existsSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forkApp } from './fork-app.ts';
import { type SinkProcess, startSinkProcess } from './trace-sink-process.ts';

let sink: SinkProcess;
beforeAll(async () => {
  sink = await startSinkProcess();
});
afterAll(async () => {
  await sink?.stop();
});

function spansOf(service: string): { name: string; service: string }[] {
  if (!existsSync(sink.file)) return [];
  return readFileSync(sink.file, 'utf8')
    .trim()
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as { name: string; service: string })
    .filter((s) => s.service === service);
}

async function runAndTerminate(service: string, registerFlush: boolean): Promise<number | null> {
  const app = await forkApp('flush-app.ts', {
    SERVICE_NAME: service,
    SPAN_COUNT: '25',
    REGISTER_FLUSH: registerFlush ? 'yes' : 'no',
    OTEL_EXPORTER_OTLP_ENDPOINT: sink.url,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    // Nothing leaves on its own during the test: only a flush can export these spans.
    OTEL_BSP_SCHEDULE_DELAY: '120000',
  });
  return app.stop('SIGTERM');
}

describe('shutdown', () => {
  it('flushes pending spans through the lifecycle hook before the process exits', async () => {
    const code = await runAndTerminate('flush-registered', true);
    expect(code).toBe(0);
    const spans = spansOf('flush-registered');
    expect(spans).toHaveLength(25);
    expect(new Set(spans.map((s) => s.name)).size).toBe(25);
  });

  it('CONTROL: the same process without the hook exits with its spans still queued', async () => {
    const code = await runAndTerminate('flush-missing', false);
    expect(code).toBe(0);
    expect(spansOf('flush-missing')).toHaveLength(0);
  });
});
