/** `chart-verify simulate` options: parsed from argv, validated up front, each named in its error. */
import { statSync } from 'node:fs';
import { parseArgs } from 'node:util';

export interface SimulateOptions {
  /** Chart folder to render with `helm template` (exclusive with `manifest`). */
  chart?: string;
  /** helm --values files. */
  valuesFiles: string[];
  /** helm --set entries, KEY=VALUE. */
  set: string[];
  /** A file of rendered manifests (multi-document YAML) instead of a chart. */
  manifest?: string;
  /** Deployment name; default the only one rendered. */
  deployment?: string;
  /** Container name; default the first. */
  container?: string;
  /** Overrides spec.replicas. */
  replicas?: number;
  /** Rolling restarts to run. Default 3. */
  rollouts: number;
  /** The entry point's folder (the image's WORKDIR), relative to the workspace root. */
  workspace?: string;
  /** The command run per replica, split on whitespace; `node` is this Node. */
  command?: string[];
  /** Container env overrides, NAME -> value (also for secretKeyRef variables). */
  env: Record<string, string>;
  /** Start an ephemeral Postgres (migrated) and Redis and point the replicas at them. */
  devstack: boolean;
  /** Endpoint change -> routing change, ms. Default 1000. */
  propagationDelayMs: number;
  /** HTTP requests per second through the Service; 0 for none. Default 300. */
  rate: number;
  method: string;
  path: string;
  /** Request headers, name -> value. */
  headers: Record<string, string>;
  body?: string;
  /** A request without a response after this long fails. Default 10000 ms. */
  timeoutMs: number;
  /** Keep-alive connections of the HTTP load open at once (not used without keep-alive). Default 16. */
  maxSockets: number;
  /** Reuse connections; false opens one per request when it is due, with no pool limit. Default true. */
  keepAlive: boolean;
  /** WebSocket clients kept connected through the Service. Default 0. */
  wsClients: number;
  wsPath: string;
  /** Sent by each WebSocket client after every open. */
  wsMessage?: string;
  /** Close codes that mean "reconnect elsewhere" rather than failure. Default 1001, 1012. */
  wsExpectedCloses: number[];
  /** Load before the first and after the last rollout, ms. Default 2000. */
  settleMs: number;
  /** Folder for report.json and report.html. Default ./chart-verify-simulate. */
  out: string;
  help: boolean;
}

/** A bad command line: the message names the option. */
export class UsageError extends Error {
  readonly code = 'TETHER_CHART_VERIFY_USAGE';
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export const simulateHelp = `Usage: chart-verify simulate <chart dir | manifest file> [options]
       chart-verify simulate (--chart DIR | --manifest FILE) [options]

Runs a Deployment's real entry point as local processes behind an emulated Service, rolls it
--rollouts times under load, and reports every failed request, time to ready, drain times and a
timeline (report.json, report.html). Exit 0: no failed request or WebSocket failure; 1: failures;
2: bad options or the simulation could not run.

Source
  --chart DIR               chart rendered with \`helm template\` (dependencies built in a temp copy)
  -f, --values FILE         helm values file (repeatable)
  --set KEY=VALUE           helm --set (repeatable)
  --manifest FILE           rendered manifests (YAML) instead of a chart
  --deployment NAME         the Deployment to simulate (default: the only one)
  --container NAME          its container to run (default: the first)

Replicas
  --replicas N              override spec.replicas
  --rollouts N              rolling restarts to run (default 3)
  --workspace DIR           folder the entry point runs in, the image's WORKDIR (default: the
                            workspace named by the image's last path segment: apps/<name>,
                            tools/<name> or libs/<name>; ghcr.io/tether/api -> apps/api)
  --command "CMD ARGS"      process per replica (default: the container's command + args, else the
                            Tether image's ENTRYPOINT + CMD: node --conditions=@tether/source
                            src/main.ts; \`node\` means this Node)
  --env NAME=VALUE          set a container env var; required for secretKeyRef vars (repeatable)
  --devstack                start ephemeral Postgres (migrated) and Redis: sets DATABASE_URL and
                            REDIS_URL, a random AUTH_JWT_SECRET, and sends a JWT signed with it
                            (sub chart-verify-simulate) as Authorization on HTTP and WebSocket load

Service
  --propagation-delay-ms N  endpoint change -> kube-proxy routing change (default 1000)

Load (through the Service)
  --rate N                  HTTP requests per second, open loop; 0 for none (default 300)
  --method M                HTTP method (default GET)
  --path P                  request path (default /)
  --header "Name: value"    request and WebSocket handshake header (repeatable)
  --body TEXT               request body (set content-type with --header)
  --timeout-ms N            a request without a response after this long fails (default 10000)
  --max-sockets N           keep-alive connections open at once; more requests wait for one
                            (default 16; at --rate R answers must take under N/R s on average)
  --no-keep-alive           one connection per request, opened when due, as from many clients:
                            no pool to wait for, every request is routed anew, so a pod that stops
                            listening while still routed fails requests (default: keep-alive
                            connections, pinned to their pod)
  --ws-clients N            WebSocket clients kept connected, reconnecting after each close (default 0)
  --ws-path P               WebSocket path (default /)
  --ws-message TEXT         sent by each client after every open
  --ws-expected-close LIST  close codes that are a clean drain (default 1001,1012); others fail
  --settle-ms N             load before the first and after the last rollout (default 2000)

Output
  --out DIR                 where report.json and report.html go (default ./chart-verify-simulate)
  -h, --help                this help

Ports: every containerPort gets a free loopback port per replica; env values equal to a
containerPort number (PORT=8080) are rewritten to it, and probes and the Service's targetPort
follow the mapping.`;

function integer(name: string, value: string | undefined, fallback: number, min = 0): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min)
    throw new UsageError(`--${name} must be an integer >= ${min}, got "${value}"`);
  return n;
}

function pairs(name: string, entries: string[] | undefined, separator: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of entries ?? []) {
    const at = entry.indexOf(separator);
    const key = at > 0 ? entry.slice(0, at).trim() : '';
    if (!key) throw new UsageError(`--${name} must look like NAME${separator}VALUE, got "${entry}"`);
    out[key] = entry.slice(at + separator.length).trim();
  }
  return out;
}

/** Parses and validates `chart-verify simulate` arguments. */
export function parseSimulateArgs(argv: string[]): SimulateOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      allowNegative: true,
      strict: true,
      options: {
        chart: { type: 'string' },
        values: { type: 'string', short: 'f', multiple: true },
        set: { type: 'string', multiple: true },
        manifest: { type: 'string' },
        deployment: { type: 'string' },
        container: { type: 'string' },
        replicas: { type: 'string' },
        rollouts: { type: 'string' },
        workspace: { type: 'string' },
        command: { type: 'string' },
        env: { type: 'string', multiple: true },
        devstack: { type: 'boolean' },
        'propagation-delay-ms': { type: 'string' },
        rate: { type: 'string' },
        method: { type: 'string' },
        path: { type: 'string' },
        header: { type: 'string', multiple: true },
        body: { type: 'string' },
        'timeout-ms': { type: 'string' },
        'max-sockets': { type: 'string' },
        'keep-alive': { type: 'boolean' },
        'ws-clients': { type: 'string' },
        'ws-path': { type: 'string' },
        'ws-message': { type: 'string' },
        'ws-expected-close': { type: 'string' },
        'settle-ms': { type: 'string' },
        out: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const v = parsed.values;
  const help = v.help ?? false;
  if (parsed.positionals.length > 1)
    throw new UsageError(`one chart or manifest at a time, got ${parsed.positionals.join(' ')}`);
  const [target] = parsed.positionals;
  if (target !== undefined) {
    if (v.chart !== undefined || v.manifest !== undefined)
      throw new UsageError(`give ${target} or --chart/--manifest, not both`);
    // A folder is a chart; a file holds rendered manifests.
    if (statSync(target, { throwIfNoEntry: false })?.isFile()) v.manifest = target;
    else v.chart = target;
  }
  if (!help && (v.chart === undefined) === (v.manifest === undefined))
    throw new UsageError('give exactly one of --chart DIR or --manifest FILE');
  if (v.manifest !== undefined && (v.values?.length || v.set?.length))
    throw new UsageError('--values and --set apply to --chart, not to --manifest');
  const command = v.command?.trim().split(/\s+/);
  if (v.command !== undefined && !command?.[0]) throw new UsageError('--command must not be empty');
  for (const path of [v.path, v['ws-path']])
    if (path !== undefined && !path.startsWith('/'))
      throw new UsageError(`paths must start with /, got "${path}"`);
  const wsExpectedCloses = (v['ws-expected-close'] ?? '1001,1012').split(',').map((code) => {
    const n = Number(code.trim());
    if (!Number.isInteger(n) || n < 1000 || n > 4999)
      throw new UsageError(`--ws-expected-close must list close codes 1000-4999, got "${code}"`);
    return n;
  });
  return {
    ...(v.chart === undefined ? {} : { chart: v.chart }),
    valuesFiles: v.values ?? [],
    set: v.set ?? [],
    ...(v.manifest === undefined ? {} : { manifest: v.manifest }),
    ...(v.deployment === undefined ? {} : { deployment: v.deployment }),
    ...(v.container === undefined ? {} : { container: v.container }),
    ...(v.replicas === undefined ? {} : { replicas: integer('replicas', v.replicas, 1, 1) }),
    rollouts: integer('rollouts', v.rollouts, 3),
    ...(v.workspace === undefined ? {} : { workspace: v.workspace }),
    ...(command === undefined ? {} : { command }),
    env: pairs('env', v.env, '='),
    devstack: v.devstack ?? false,
    propagationDelayMs: integer('propagation-delay-ms', v['propagation-delay-ms'], 1000),
    rate: integer('rate', v.rate, 300),
    method: (v.method ?? 'GET').toUpperCase(),
    path: v.path ?? '/',
    headers: pairs('header', v.header, ':'),
    ...(v.body === undefined ? {} : { body: v.body }),
    timeoutMs: integer('timeout-ms', v['timeout-ms'], 10_000, 1),
    maxSockets: integer('max-sockets', v['max-sockets'], 16, 1),
    keepAlive: v['keep-alive'] ?? true,
    wsClients: integer('ws-clients', v['ws-clients'], 0),
    wsPath: v['ws-path'] ?? '/',
    ...(v['ws-message'] === undefined ? {} : { wsMessage: v['ws-message'] }),
    wsExpectedCloses,
    settleMs: integer('settle-ms', v['settle-ms'], 2000),
    out: v.out ?? 'chart-verify-simulate',
    help,
  };
}
