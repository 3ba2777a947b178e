#!/usr/bin/env node
/**
 * tether-probe: measure how long the network path to Postgres or Redis keeps idle connections.
 * Run `tether-probe --help`.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { probeIdle } from './probe.ts';
import { recommend } from './recommend.ts';
import { formatTable, toJson } from './report.ts';
import { parseTarget, ProbeInputError } from './target.ts';

const help = `tether-probe idle <postgres://…|redis://…|rediss://…> [options]
tether-probe idle --env DATABASE_URL [options]

Opens a few connections through the real network path with keepalive off, leaves them idle for
staggered intervals, checks each with one harmless round trip (SELECT 1 / PING), and reports the
longest idle that survived, the shortest that died, how death showed (silent drop, reset, server
close), whether TCP keepalive keeps the path open, and the pooling settings to use. Read-only;
credentials are never printed (prefer --env so they stay out of the process list).

options:
  --env NAME          read the target URL from this environment variable
  --max-idle DUR      longest idle interval to try            (default 15m)
  --resolution DUR    stop when the bracket is this narrow     (default 10s, or max-idle/10)
  --connections N     connections idling at once per round     (default 8, max 32)
  --rounds N          refinement rounds at most                (default 4, max 10)
  --timeout DUR       a round trip silent this long is dead    (default 5s)
  --keepalive DUR     keepalive delay of the control connection (default 10s)
  --json              print JSON instead of the table
  --out FILE          also write the JSON report to FILE
  -h, --help          this text
durations: 500ms, 30s, 5m, or a number of milliseconds.
exit status: 0 measured (whatever the result), 2 bad input, 1 the target could not be reached.`;

function duration(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!match) throw new ProbeInputError(`--${name} must be a duration like 500ms, 30s or 5m (got "${text}")`);
  const unit = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 }[(match[2] ?? 'ms') as 'ms'];
  return Number(match[1]) * unit;
}

function integer(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  if (!/^\d+$/.test(text)) throw new ProbeInputError(`--${name} must be a whole number (got "${text}")`);
  return Number(text);
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      env: { type: 'string' },
      'max-idle': { type: 'string' },
      resolution: { type: 'string' },
      connections: { type: 'string' },
      rounds: { type: 'string' },
      timeout: { type: 'string' },
      keepalive: { type: 'string' },
      json: { type: 'boolean' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(help);
    return 0;
  }
  const [command, url] = positionals;
  if (command !== 'idle')
    throw new ProbeInputError(`unknown command "${command ?? ''}" (try: tether-probe idle --help)`);
  const fromEnv = values.env === undefined ? undefined : process.env[values.env];
  if (values.env !== undefined && !fromEnv)
    throw new ProbeInputError(`environment variable ${values.env} is not set`);
  const targetUrl = url ?? fromEnv;
  if (!targetUrl) throw new ProbeInputError('give a target URL or --env NAME');
  const target = parseTarget(targetUrl);
  const options = {
    maxIdleMs: duration('max-idle', values['max-idle'], 900_000),
    ...(values.resolution === undefined
      ? {}
      : { resolutionMs: duration('resolution', values.resolution, 0) }),
    connections: integer('connections', values.connections, 8),
    maxRounds: integer('rounds', values.rounds, 4),
    roundTripTimeoutMs: duration('timeout', values.timeout, 5_000),
    keepAliveMs: duration('keepalive', values.keepalive, 10_000),
    log: values.json ? undefined : (line: string) => console.error(line),
  };
  let result;
  try {
    result = await probeIdle(target, options);
  } catch (error) {
    if (error instanceof RangeError) throw new ProbeInputError(error.message);
    console.error(`tether-probe: cannot probe ${target.display}: ${(error as Error).message}`);
    return 1;
  }
  const recommendations = recommend(result);
  if (values.out) writeFileSync(values.out, toJson(result, recommendations));
  console.log(values.json ? toJson(result, recommendations) : formatTable(result, recommendations));
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    console.error(`tether-probe: ${message}`);
    process.exit(
      error instanceof ProbeInputError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')
        ? 2
        : 1,
    );
  },
);
