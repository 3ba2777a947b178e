/**
 * The platform under test, composed from @tether/devstack's pieces so every part can be faulted:
 * ephemeral Postgres (reached by the apps through a FaultProxy, so the kernel blackhole applies to
 * exactly their traffic) and Redis, migrations, an in-process trace sink, and the three apps as
 * child processes, the API and the gateway behind a readiness-polling balancer (a Service).
 */
import type { ChildProcess } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { type AppProcess, EphemeralPostgres, EphemeralRedis, FaultProxy, startApp } from '@tether/devstack';
import { migrate } from '@tether/migrations';
import { startTraceSink, type TraceSink } from '@tether/trace-sink';
import { parse as parseYaml } from 'yaml';
import { Balancer } from './balancer.ts';

export const workspaceRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

export type AppName = 'api' | 'worker' | 'wsGateway';

const entries: Record<AppName, string> = {
  api: 'apps/api/src/main.ts',
  worker: 'apps/worker/src/main.ts',
  wsGateway: 'apps/ws-gateway/src/main.ts',
};

/** Each app's Helm chart (charts/<dir>), whose lifecycle values a rolling restart follows. */
const charts: Record<AppName, string> = { api: 'api', worker: 'worker', wsGateway: 'ws-gateway' };

/**
 * The preStop sleep the app's chart gives its pods (`lifecycle.preStopSleepSeconds` in
 * charts/<app>/values.yaml, rendered by tether-common's `_lifecycle.tpl`), ms: read from the chart so
 * the rollout here is the one the chart deploys.
 */
export function chartPreStopMs(name: AppName): number {
  const file = `charts/${charts[name]}/values.yaml`;
  const values: unknown = parseYaml(readFileSync(join(workspaceRoot, file), 'utf8'));
  const seconds = (values as { lifecycle?: { preStopSleepSeconds?: unknown } } | null)?.lifecycle
    ?.preStopSleepSeconds;
  if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds < 0)
    throw new Error(
      `${file}: lifecycle.preStopSleepSeconds must be a number of seconds >= 0, got ${String(seconds)}`,
    );
  return seconds * 1000;
}

/** Every app process of this run: SIGKILLed when the runner exits, however it exits (short of SIGKILL). */
const children = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of children)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

/** Runs an app (startApp) and remembers it for the exit hook. */
export async function startTracked(entry: string, env: Record<string, string>): Promise<AppProcess> {
  const app = await startApp(entry, env);
  children.add(app.child);
  app.child.once('exit', () => children.delete(app.child));
  return app;
}

/**
 * startTracked, then wait for `probe` on the admin port; started again on new ports (up to 3 times)
 * when another process took a port between `freePort()` and the app's listen (EADDRINUSE).
 */
export async function startReady(
  entry: string,
  env: Record<string, string>,
  probe: string,
): Promise<AppProcess> {
  for (let attempt = 1; ; attempt++) {
    const app = await startTracked(entry, env);
    try {
      // Generous: with a dozen test suites on two cores, an app's start-up alone can take a minute.
      await app.ready(probe, 240_000);
      return app;
    } catch (error) {
      if (attempt >= 3 || !app.output().includes('EADDRINUSE')) throw error;
    }
  }
}

/** An HS256 JWT for `sub`, as the apps verify it (AUTH_JWT_SECRET). */
export function signToken(secret: string, sub: string, ttlSeconds = 24 * 3600): string {
  const b64 = (value: string) => Buffer.from(value).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const body = `${b64(JSON.stringify({ alg: 'HS256', typ: 'JWT' }))}.${b64(JSON.stringify({ sub, iat: now, exp: now + ttlSeconds }))}`;
  return `${body}.${createHmac('sha256', secret).update(body).digest('base64url')}`;
}

export interface StackOptions {
  /** Where traces.jsonl goes. */
  stateDir: string;
  /** Worker lease TTL, ms: a killed worker's jobs are requeued about this long after it died. */
  leaseTtlMs: number;
  log: (line: string) => void;
}

/** URLs and env the apps of one app set are started with. */
export interface AppEnvironment {
  databaseUrl: string;
  redisUrl: string;
}

/**
 * One copy of the platform's apps: `api` and `wsGateway` replicas behind balancers, one `worker`.
 * Replicas can be replaced one at a time (rolling restart) or killed.
 */
export class AppSet {
  readonly replicas: Record<AppName, AppProcess[]> = { api: [], worker: [], wsGateway: [] };
  private readonly balancers: Partial<Record<AppName, Balancer>> = {};
  private readonly starting = new Set<Promise<unknown>>();

  private readonly env: Record<string, string>;
  private readonly log: (line: string) => void;

  constructor(env: Record<string, string>, log: (line: string) => void) {
    this.env = env;
    this.log = log;
  }

  static async start(env: Record<string, string>, log: (line: string) => void): Promise<AppSet> {
    const set = new AppSet(env, log);
    set.balancers.api = await Balancer.start();
    set.balancers.wsGateway = await Balancer.start();
    await Promise.all((['api', 'worker', 'wsGateway'] as const).map((name) => set.startReplica(name)));
    return set;
  }

  get apiUrl(): string {
    return `http://127.0.0.1:${this.balancers.api?.port}`;
  }

  get wsUrl(): string {
    return `ws://127.0.0.1:${this.balancers.wsGateway?.port}/v1/stream`;
  }

  /** Starts one more replica of `name` and resolves when it is ready (and in its balancer). */
  async startReplica(name: AppName): Promise<AppProcess> {
    const starting = startReady(join(workspaceRoot, entries[name]), this.env, '/readyz');
    this.starting.add(starting);
    let app: AppProcess;
    try {
      app = await starting;
    } catch (error) {
      this.log(`${name} did not start: ${(error as Error).message.slice(-2_000)}`);
      throw error;
    } finally {
      this.starting.delete(starting);
    }
    this.replicas[name].push(app);
    app.child.once('exit', () => {
      const list = this.replicas[name];
      if (list.includes(app)) list.splice(list.indexOf(app), 1);
      this.balancers[name]?.remove(app);
    });
    this.balancers[name]?.add(app);
    await this.balancers[name]?.waitReady();
    return app;
  }

  /** Connections the balancers reset for want of a routable replica, so far. */
  noEndpointResets(): number {
    return Object.values(this.balancers).reduce((n, b) => n + b.noEndpointResets, 0);
  }

  /** The oldest replica of `name`. */
  current(name: AppName): AppProcess {
    const app = this.replicas[name][0];
    if (!app) throw new Error(`no ${name} replica is running`);
    return app;
  }

  /**
   * Kubernetes' rolling update with maxSurge 1, maxUnavailable 0: start the new replica and wait
   * until it is ready; then the old pod is deleted, which does two things at once: its endpoint
   * removal starts propagating (`Balancer.terminating`: new connections still reach it for a while)
   * and the kubelet runs its preStop hook, the chart's sleep (`chartPreStopMs`), then sends SIGTERM.
   * Resolves when the old replica has exited.
   */
  async rollingRestart(name: AppName): Promise<void> {
    const old = this.current(name);
    await this.startReplica(name);
    this.balancers[name]?.terminating(old);
    const preStopMs = chartPreStopMs(name);
    if (preStopMs > 0) await sleep(preStopMs);
    await old.stop('SIGTERM');
  }

  async stop(): Promise<void> {
    await Promise.allSettled(this.starting);
    const all = Object.values(this.replicas).flat();
    await Promise.all(
      all.map(async (app) => {
        const timer = setTimeout(() => app.child.kill('SIGKILL'), 8_000);
        await app.stop('SIGTERM');
        clearTimeout(timer);
      }),
    );
    await Promise.all(Object.values(this.balancers).map((b) => b.close()));
  }
}

/** Servers, fault points and the apps: everything one chaos run shares. */
export class ChaosStack {
  readonly secret = randomBytes(32).toString('hex');
  readonly token: string;
  readonly traceFile: string;
  readonly postgres: EphemeralPostgres;
  readonly redis: EphemeralRedis;
  /** Between the apps and Postgres: blackhole, reset. */
  readonly pgProxy: FaultProxy;
  readonly sink: TraceSink;
  readonly options: StackOptions;
  apps!: AppSet;

  private constructor(
    servers: { postgres: EphemeralPostgres; redis: EphemeralRedis; pgProxy: FaultProxy; sink: TraceSink },
    traceFile: string,
    options: StackOptions,
  ) {
    this.postgres = servers.postgres;
    this.redis = servers.redis;
    this.pgProxy = servers.pgProxy;
    this.sink = servers.sink;
    this.traceFile = traceFile;
    this.options = options;
    this.token = signToken(this.secret, 'chaos-user');
  }

  static async start(options: StackOptions): Promise<ChaosStack> {
    mkdirSync(options.stateDir, { recursive: true });
    const traceFile = join(options.stateDir, 'traces.jsonl');
    rmSync(traceFile, { force: true });
    const [postgres, redis] = await Promise.all([EphemeralPostgres.start(), EphemeralRedis.start()]);
    options.log(`postgres 127.0.0.1:${postgres.port}, redis 127.0.0.1:${redis.port}`);
    await migrate({ databaseUrl: postgres.url });
    const pgProxy = await FaultProxy.start({ targetHost: postgres.host, targetPort: postgres.port });
    const sink = await startTraceSink({ file: traceFile, port: 0 });
    const stack = new ChaosStack({ postgres, redis, pgProxy, sink }, traceFile, options);
    try {
      stack.apps = await AppSet.start(
        stack.appEnv({ databaseUrl: stack.proxiedDatabaseUrl, redisUrl: redis.url }),
        options.log,
      );
    } catch (error) {
      await stack.close();
      throw error;
    }
    return stack;
  }

  /** The application role's URL through the fault proxy. */
  get proxiedDatabaseUrl(): string {
    return this.postgres.url.replace(`:${this.postgres.port}/`, `:${this.pgProxy.port}/`);
  }

  /** The environment every app of this run gets (DATABASE_URL and REDIS_URL from `urls`). */
  appEnv(urls: AppEnvironment): Record<string, string> {
    return {
      DATABASE_URL: urls.databaseUrl,
      REDIS_URL: urls.redisUrl,
      AUTH_JWT_SECRET: this.secret,
      OTEL_EXPORTER_OTLP_ENDPOINT: this.sink.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      // Spans reach the file within half a second, so a scenario's outage spans are there when it ends.
      OTEL_BSP_SCHEDULE_DELAY: '500',
      LOG_LEVEL: 'warn',
      SHUTDOWN_TIMEOUT_MS: '5000',
      // Longer than the balancer's readiness poll: a draining replica keeps serving until it is out.
      SHUTDOWN_DRAIN_DELAY_MS: '1000',
      WORKER_LEASE_TTL_MS: String(this.options.leaseTtlMs),
      WORKER_SWEEP_INTERVAL_MS: '1000',
      WS_MAX_CONNECTIONS_PER_USER: '5000',
      WS_MESSAGES_PER_SECOND: '1000',
      WS_MESSAGE_BURST: '2000',
    };
  }

  async close(): Promise<void> {
    await this.apps?.stop().catch(() => {});
    await this.pgProxy.close();
    await this.sink.close();
    await Promise.all([this.redis.close(), this.postgres.close()]);
  }
}
