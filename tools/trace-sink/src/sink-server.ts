import { appendFileSync, mkdirSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { once } from 'node:events';
import { dirname } from 'node:path';
import { flattenOtlpJson } from './otlp-json.ts';

export interface TraceSinkOptions {
  /** JSONL file spans are appended to (created with its folder). Required. */
  file: string;
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
 * A minimal OTLP/HTTP receiver for local development: `POST /v1/traces` with
 * `content-type: application/json`. Exporters must use `OTEL_EXPORTER_OTLP_PROTOCOL=http/json`;
 * protobuf gets a 415 that says so (decoding protobuf would need the whole proto toolchain).
 */
export async function startTraceSink(options: TraceSinkOptions): Promise<TraceSink> {
  const limit = options.maxBodyBytes ?? 16 * 1024 * 1024;
  mkdirSync(dirname(options.file), { recursive: true });
  let spansWritten = 0;
  const server: Server = createServer((request, response) => {
    const reply = (status: number, body: string, type = 'application/json') => {
      response.writeHead(status, { 'content-type': type });
      response.end(body);
    };
    if (request.method !== 'POST' || (request.url ?? '').split('?', 1)[0] !== '/v1/traces') {
      reply(404, 'only POST /v1/traces is served here\n', 'text/plain');
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
        let lines: string;
        try {
          const spans = flattenOtlpJson(JSON.parse(body.toString('utf8')));
          lines = spans.map((s) => JSON.stringify(s)).join('\n');
          if (spans.length > 0) appendFileSync(options.file, `${lines}\n`);
          spansWritten += spans.length;
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
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}
