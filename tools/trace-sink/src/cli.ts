#!/usr/bin/env node
/**
 * trace-sink serve   [--port 4318] [--file .tether/traces.jsonl] [--metrics-file …]   receive OTLP/HTTP JSON spans and metrics
 * trace-sink outages [--file …] [--dependency redis]              print outage timelines
 * trace-sink trace <traceId> [--file …]                           print one trace as a tree
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { readSpans } from './read-spans.ts';
import { startTraceSink } from './sink-server.ts';
import { formatOutages, formatTrace } from './timeline.ts';

const usage = `usage:
  trace-sink serve   [--port 4318] [--file .tether/traces.jsonl] [--metrics-file <dir of --file>/metrics.jsonl]
  trace-sink outages [--file .tether/traces.jsonl] [--dependency <name>]
  trace-sink trace <traceId> [--file .tether/traces.jsonl]`;

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    port: { type: 'string', default: '4318' },
    file: { type: 'string', default: join(process.cwd(), '.tether', 'traces.jsonl') },
    'metrics-file': { type: 'string' },
    dependency: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});

const [command, argument] = positionals;
if (values.help || command === undefined) {
  console.log(usage);
  process.exit(values.help ? 0 : 2);
}

if (command === 'serve') {
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`--port must be an integer 0..65535 (got "${values.port}")`);
    process.exit(2);
  }
  const sink = await startTraceSink({
    port,
    file: values.file,
    ...(values['metrics-file'] ? { metricsFile: values['metrics-file'] } : {}),
  });
  // One machine-readable line first: tests and `npm start` read the URL from it.
  console.log(JSON.stringify({ url: sink.url, file: values.file, metricsFile: sink.metricsFile }));
  console.error(
    `trace-sink: OTEL_EXPORTER_OTLP_ENDPOINT=${sink.url} OTEL_EXPORTER_OTLP_PROTOCOL=http/json -> ${values.file}, ${sink.metricsFile}`,
  );
  const stop = () => {
    sink.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
} else if (command === 'outages') {
  process.stdout.write(
    formatOutages(readSpans(values.file), values.dependency ? { dependency: values.dependency } : {}),
  );
} else if (command === 'trace' && argument) {
  process.stdout.write(formatTrace(readSpans(values.file), argument));
} else {
  console.error(usage);
  process.exit(2);
}
