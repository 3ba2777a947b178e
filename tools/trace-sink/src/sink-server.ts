import { appendFileSync, mkdirSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { once } from 'node:events';
import { dirname, join } from 'node:path';
import { flattenOtlpJson } from './otlp-json.ts';
import { flattenOtlpMetricsJson } from './otlp-metrics-json.ts';

export interface TraceSinkOptions {
  /** JSONL file spans are appended to (created with its folder). Required. */
  file: string;
  /** JSONL file metric data points are appended to. Default: `metrics.jsonl` beside `file`. */
  metricsFile?: string;
  /** Port to listen on; 0 picks a free one. Default: 4318 (the OTLP/HTTP port). */
  port?: number;
  /** Default: 127.0.0.1 (never exposed beyond the machine). */
  host?: string;
  /** Largest accepted request body, in bytes. Default: 16 MiB. */
  maxBodyBytes?: number;
}

export interface TraceSink {
  /** Base URL to put in OTEL_EXPORTER_OTLP_ENDPOINT. */
  readonly url: string;
  readonly port: number;
  /** Spans written since start. */
  readonly spansWritten: number;
  /** Metric data points written since start. */
  readonly metricPointsWritten: number;
  /** Where metric data points go. */
  readonly metricsFile: string;
  close(): Promise<void>;
}

async function readBody(request: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > limit) throw Object.assign(new Error(`body larger than ${limit} bytes`), { status: 413 });
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/**
 * A minimal OTLP/HTTP receiver for local development: `POST /v1/traces` and `POST /v1/metrics` with
 * `content-type: application/json`. Exporters must use `OTEL_EXPORTER_OTLP_PROTOCOL=http/json`;
 * protobuf gets a 415 that says so (decoding protobuf would need the whole proto toolchain).
 */
export async function startTraceSink(options: TraceSinkOptions): Promise<TraceSink> {
  const limit = options.maxBodyBytes ?? 16 * 1024 * 1024;
  mkdirSync(dirname(options.file), { recursive: true });
  const metricsFile = options.metricsFile ?? join(dirname(options.file), 'metrics.jsonl');
  mkdirSync(dirname(metricsFile), { recursive: true });
  let spansWritten = 0;
  let metricPointsWritten = 0;
  // One flattener and file per signal; both append JSON lines.
  const signals = {
    '/v1/traces': (body: unknown) => {
      const spans = flattenOtlpJson(body);
      if (spans.length > 0)
        appendFileSync(options.file, `${spans.map((s) => JSON.stringify(s)).join('\n')}\n`);
      spansWritten += spans.length;
    },
    '/v1/metrics': (body: unknown) => {
      const points = flattenOtlpMetricsJson(body);
      if (points.length > 0)
        appendFileSync(metricsFile, `${points.map((p) => JSON.stringify(p)).join('\n')}\n`);
      metricPointsWritten += points.length;
    },
  };
  const server: Server = createServer((request, response) => {
    const reply = (status: number, body: string, type = 'application/json') => {
      response.writeHead(status, { 'content-type': type });
      response.end(body);
    };
    const path = (request.url ?? '').split('?', 1)[0] as string;
    const receive = path === '/v1/traces' || path === '/v1/metrics' ? signals[path] : undefined;
    if (request.method !== 'POST' || receive === undefined) {
      reply(404, 'only POST /v1/traces and /v1/metrics are served here\n', 'text/plain');
      return;
    }
    if (!(request.headers['content-type'] ?? '').startsWith('application/json')) {
      reply(
        415,
        'trace-sink accepts OTLP JSON only: set OTEL_EXPORTER_OTLP_PROTOCOL=http/json\n',
        'text/plain',
      );
      return;
    }
    readBody(request, limit).then(
      (body) => {
        try {
          receive(JSON.parse(body.toString('utf8')));
        } catch (error) {
          reply(400, JSON.stringify({ error: (error as Error).message }));
          return;
        }
        reply(200, '{}');
      },
      (error: Error & { status?: number }) =>
        reply(error.status ?? 400, JSON.stringify({ error: error.message })),
    );
  });
  server.listen(options.port ?? 4318, options.host ?? '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://${options.host ?? '127.0.0.1'}:${port}`,
    port,
    get spansWritten() {
      return spansWritten;
    },
    get metricPointsWritten() {
      return metricPointsWritten;
    },
    metricsFile,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}
