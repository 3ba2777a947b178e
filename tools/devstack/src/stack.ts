/**
 * The local platform behind `npm start`: Postgres and Redis (ephemeral unless DATABASE_URL /
 * REDIS_URL are set), migrations, and the three apps as child processes, described in
 * `.tether/stack.json` (the contract in docs/architecture.md). An app that dies on its own is restarted
 * with backoff, as a ReplicaSet would; shutdown goes through each app's own graceful path (SIGTERM),
 * then the servers stop.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { trackGroup, untrackGroup } from './cleanup.ts';
import { type DevConsole, startConsole } from './console/server.ts';
import { devSecret, devToken } from './dev-token.ts';
import { DevstackError } from './errors.ts';
import { freePort } from './ports.ts';
import { NatPath } from './nat.ts';
import { EphemeralPostgres } from './postgres.ts';
import { EphemeralRedis } from './redis.ts';

export const workspaceRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

type AppKey = 'api' | 'worker' | 'wsGateway';

interface AppSpec {
  key: AppKey;
  dir: string;
  port?: number;
  adminPort: number;
}

/** Ports from ARCHITECTURE.md; `freePorts` picks free ones instead (tests, a second stack). */
const defaultApps: AppSpec[] = [
  { key: 'api', dir: 'apps/api', port: 8080, adminPort: 9090 },
  { key: 'worker', dir: 'apps/worker', adminPort: 9091 },
  { key: 'wsGateway', dir: 'apps/ws-gateway', port: 8081, adminPort: 9092 },
];

/** The dev console's port (ARCHITECTURE.md's stack.json example); `freePorts` picks a free one. */
const CONSOLE_PORT = 8090;

export interface StackOptions {
  /** Pick free ports instead of 8080/8081/8090/9090-9092. */
  freePorts?: boolean;
  /** Where stack.json goes (default `<workspace>/.tether`). */
  stateDir?: string;
  /** Environment (default process.env): DATABASE_URL / REDIS_URL reuse existing servers. */
  env?: NodeJS.ProcessEnv;
  /** Per-app graceful shutdown budget in ms (default 5000); the whole stack stops within 10 s. */
  shutdownTimeoutMs?: number;
  /**
   * Delay before restarting an app that died, ms (default 1000); doubles with each crash in a row up
   * to `restartMaxDelayMs` (default 30000), like the kubelet's CrashLoopBackOff (10 s doubling to
   * 5 min, shortened for a laptop). An app that stayed up for `restartResetAfterMs` (default 60000)
   * starts again from the initial delay.
   */
  restartDelayMs?: number;
  restartMaxDelayMs?: number;
  restartResetAfterMs?: number;
  log?: (line: string) => void;
  /**
   * Put the apps behind a real kernel NAT (NatPath) that forgets connections idle for this many
   * seconds, as an AWS NAT gateway (350) or Azure LB (240) does: the apps reach Postgres and Redis
   * through it, so the failure Tether exists for happens on a laptop. Needs root, iproute2, nftables.
   */
  natIdleTimeoutS?: number;
}

export interface StackDescription {
  api: string;
  ws: string;
  admin: { api: string; worker: string; wsGateway: string };
  /** The dev console (a web page: demo jobs, their events live, dependency outages as a timeline). */
  console: string;
  databaseUrl: string;
  redisUrl: string;
  token: string;
  pids: { api: number; worker: number; wsGateway: number; postgres: number; redis: number };
}

interface AppContext {
  databaseUrl: string;
  redisUrl: string;
  secret: string;
  env: NodeJS.ProcessEnv;
}

export class LocalStack {
  private postgres: EphemeralPostgres | undefined;
  private redis: EphemeralRedis | undefined;
  private nat: NatPath | undefined;
  private readonly children = new Map<AppKey | 'traceSink', ChildProcess>();
  /** Where the local trace sink writes spans (undefined when OTEL_EXPORTER_OTLP_ENDPOINT was set). */
  traceFile: string | undefined;
  private readonly options: StackOptions;
  private readonly log: (line: string) => void;
  private stopping = false;
  readonly stackFile: string;
  description: StackDescription | undefined;
  /** How often each app was restarted after dying on its own. */
  readonly restarts: Record<AppKey, number> = { api: 0, worker: 0, wsGateway: 0 };
  private readonly crashLoop = new Map<AppKey, { delayMs: number; timer?: NodeJS.Timeout }>();
  private appContext: AppContext | undefined;
  private devConsole: DevConsole | undefined;

  constructor(options: StackOptions = {}) {
    for (const field of ['restartDelayMs', 'restartMaxDelayMs', 'restartResetAfterMs'] as const) {
      const value = options[field];
      if (value !== undefined && !(Number.isFinite(value) && value >= 0))
        throw new DevstackError('TETHER_DEVSTACK_INVALID_OPTION', `${field} must be a number >= 0`);
    }
    this.options = options;
    this.log = options.log ?? ((line) => console.log(line));
    this.stackFile = join(options.stateDir ?? join(workspaceRoot, '.tether'), 'stack.json');
  }

  async up(): Promise<StackDescription> {
    const env = this.options.env ?? process.env;
    const [directDatabaseUrl, directRedisUrl] = await Promise.all([this.database(env), this.cache(env)]);
    await this.migrate(directDatabaseUrl);
    const [databaseUrl, redisUrl] = await this.behindNat(directDatabaseUrl, directRedisUrl);
    const secret = env.AUTH_JWT_SECRET ?? devSecret();
    const otel = env.OTEL_EXPORTER_OTLP_ENDPOINT ? {} : await this.traceSink();
    const apps = await this.ports();
    this.appContext = { databaseUrl, redisUrl, secret, env: { ...otel, ...env } };
    for (const app of apps) this.spawnApp(app, this.appContext);
    await Promise.all(apps.map((app) => this.waitReady(app)));
    const url = (port?: number) => `http://127.0.0.1:${port}`;
    const byKey = (key: AppKey) => apps.find((a) => a.key === key) as AppSpec;
    const api = url(byKey('api').port);
    const ws = `ws://127.0.0.1:${byKey('wsGateway').port}/v1/stream`;
    const token = devToken(secret);
    this.devConsole = await startConsole({
      api,
      ws,
      token,
      traceFile: this.traceFile,
      workspaceRoot,
      port: this.options.freePorts ? 0 : CONSOLE_PORT,
    });
    this.description = {
      api,
      ws,
      admin: {
        api: url(byKey('api').adminPort),
        worker: url(byKey('worker').adminPort),
        wsGateway: url(byKey('wsGateway').adminPort),
      },
      console: this.devConsole.url,
      databaseUrl: directDatabaseUrl,
      redisUrl: directRedisUrl,
      token,
      pids: {
        api: this.children.get('api')?.pid ?? 0,
        worker: this.children.get('worker')?.pid ?? 0,
        wsGateway: this.children.get('wsGateway')?.pid ?? 0,
        postgres: this.postgres?.pid ?? 0,
        redis: this.redis?.pid ?? 0,
      },
    };
    this.writeStackFile();
    return this.description;
  }

  private writeStackFile(): void {
    if (this.stopping || !this.description) return;
    mkdirSync(dirname(this.stackFile), { recursive: true });
    // Atomically: benchmarks and outside checks poll for this file and must never read half of it.
    writeFileSync(`${this.stackFile}.tmp`, `${JSON.stringify(this.description, null, 2)}\n`, { mode: 0o600 });
    renameSync(`${this.stackFile}.tmp`, this.stackFile);
  }

  /** The apps' URLs: through the NAT when asked for (tools keep the direct ones in stack.json). */
  private async behindNat(databaseUrl: string, redisUrl: string): Promise<[string, string]> {
    const idleTimeoutS = this.options.natIdleTimeoutS;
    if (idleTimeoutS === undefined) return [databaseUrl, redisUrl];
    const ports = [databaseUrl, redisUrl].map((url) => Number(new URL(url).port));
    this.nat = await NatPath.create({ idleTimeoutS, ports });
    this.log(
      `nat: the apps reach Postgres and Redis via ${this.nat.host}, forgetting flows idle ${idleTimeoutS} s`,
    );
    return [this.nat.url(databaseUrl), this.nat.url(redisUrl)];
  }

  private async database(env: NodeJS.ProcessEnv): Promise<string> {
    if (env.DATABASE_URL) return env.DATABASE_URL;
    this.postgres = await EphemeralPostgres.start();
    this.log(`postgres: ephemeral on 127.0.0.1:${this.postgres.port} (pid ${this.postgres.pid})`);
    return this.postgres.url;
  }

  private async cache(env: NodeJS.ProcessEnv): Promise<string> {
    if (env.REDIS_URL) return env.REDIS_URL;
    this.redis = await EphemeralRedis.start();
    this.log(`redis: ephemeral on 127.0.0.1:${this.redis.port} (pid ${this.redis.pid})`);
    return this.redis.url;
  }

  /**
   * A local OTLP/HTTP receiver (tools/trace-sink) writing the apps' spans to `<stateDir>/traces.jsonl`,
   * unless OTEL_EXPORTER_OTLP_ENDPOINT already points somewhere. Returns the apps' OTEL variables.
   */
  private async traceSink(): Promise<Record<string, string>> {
    const file = join(dirname(this.stackFile), 'traces.jsonl');
    const child = spawn(
      process.execPath,
      [
        '--conditions=@tether/source',
        join(workspaceRoot, 'tools/trace-sink/src/cli.ts'),
        'serve',
        '--port',
        '0',
        '--file',
        file,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], detached: true },
    );
    this.track('traceSink', child);
    const lines = createInterface({ input: child.stdout as NonNullable<typeof child.stdout> });
    const first = await Promise.race([
      once(lines, 'line') as Promise<[string]>,
      once(child, 'exit').then(() => {
        throw new DevstackError('TETHER_DEVSTACK_TRACE_SINK', 'the trace sink exited during start-up');
      }),
    ]);
    lines.on('line', (line) => this.log(`[traces] ${line}`));
    const { url } = JSON.parse(first[0]) as { url: string };
    this.traceFile = file;
    this.log(`traces: ${url} -> ${file}`);
    return { OTEL_EXPORTER_OTLP_ENDPOINT: url, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' };
  }

  /** Own process group, tracked so the cleanup hooks SIGKILL it if the CLI dies first. */
  private track(key: AppKey | 'traceSink', child: ChildProcess): void {
    if (child.pid !== undefined) {
      const pgid = child.pid;
      trackGroup(pgid);
      child.once('exit', () => untrackGroup(pgid));
    }
    this.children.set(key, child);
  }

  private async ports(): Promise<AppSpec[]> {
    if (!this.options.freePorts) return defaultApps;
    const apps: AppSpec[] = [];
    for (const app of defaultApps) {
      apps.push({
        ...app,
        adminPort: await freePort(),
        ...(app.port === undefined ? {} : { port: await freePort() }),
      });
    }
    return apps;
  }

  private async migrate(databaseUrl: string): Promise<void> {
    const child = spawn(
      process.execPath,
      ['--conditions=@tether/source', join(workspaceRoot, 'libs/migrations/src/cli.ts'), 'up'],
      {
        env: { ...process.env, DATABASE_URL: databaseUrl },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    this.pipeOutput('migrations', child);
    const [code] = (await once(child, 'exit')) as [number | null];
    if (code !== 0)
      throw new DevstackError(
        'TETHER_DEVSTACK_MIGRATIONS',
        `migrations failed (exit ${code}); see the lines above`,
      );
  }

  private spawnApp(app: AppSpec, ctx: AppContext): void {
    const child = spawn(
      process.execPath,
      ['--conditions=@tether/source', join(workspaceRoot, app.dir, 'src/main.ts')],
      {
        env: {
          ...ctx.env,
          DATABASE_URL: ctx.databaseUrl,
          REDIS_URL: ctx.redisUrl,
          AUTH_JWT_SECRET: ctx.secret,
          ADMIN_PORT: String(app.adminPort),
          ...(app.port === undefined ? {} : { PORT: String(app.port) }),
          SHUTDOWN_DRAIN_DELAY_MS: ctx.env.SHUTDOWN_DRAIN_DELAY_MS ?? '0',
          SHUTDOWN_TIMEOUT_MS: ctx.env.SHUTDOWN_TIMEOUT_MS ?? String(this.options.shutdownTimeoutMs ?? 5_000),
          LOG_LEVEL: ctx.env.LOG_LEVEL ?? 'info',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
        // Own process group: a terminal's Ctrl-C reaches the CLI only, which stops the apps in order;
        // the cleanup hooks SIGKILL the group if the CLI dies first.
        detached: true,
      },
    );
    this.track(app.key, child);
    this.pipeOutput(app.key, child);
    const startedAt = Date.now();
    child.once('exit', (code, signal) => {
      // During start-up a dying app fails `up()` instead (waitReady): a bad configuration must not loop.
      if (!this.stopping && this.description)
        this.restartLater(app, `${signal ?? `code ${code}`}`, Date.now() - startedAt);
    });
  }

  /** CrashLoopBackOff: restart after a delay that doubles while the app keeps dying soon after start. */
  private restartLater(app: AppSpec, how: string, upForMs: number): void {
    const initialMs = this.options.restartDelayMs ?? 1_000;
    const maxMs = this.options.restartMaxDelayMs ?? 30_000;
    const state = this.crashLoop.get(app.key);
    const delayMs =
      state === undefined || upForMs >= (this.options.restartResetAfterMs ?? 60_000)
        ? initialMs
        : Math.min(state.delayMs * 2, maxMs);
    this.log(`${app.key} exited unexpectedly (${how}); restarting in ${delayMs} ms`);
    const timer = setTimeout(() => {
      if (this.stopping || !this.appContext) return;
      this.restarts[app.key]++;
      this.spawnApp(app, this.appContext);
      const pid = this.children.get(app.key)?.pid;
      if (this.description && pid !== undefined) {
        this.description.pids[app.key] = pid;
        this.writeStackFile();
      }
    }, delayMs);
    this.crashLoop.set(app.key, { delayMs, timer });
  }

  private pipeOutput(name: string, child: ChildProcess): void {
    for (const stream of [child.stdout, child.stderr]) {
      if (stream) createInterface({ input: stream }).on('line', (line) => this.log(`[${name}] ${line}`));
    }
  }

  // Generous: on a loaded machine an app's imports alone can take half a minute.
  private async waitReady(app: AppSpec, timeoutMs = 90_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const url = `http://127.0.0.1:${app.adminPort}/readyz`;
    for (;;) {
      const child = this.children.get(app.key);
      if (!child || child.exitCode !== null || child.signalCode !== null) {
        throw new DevstackError(
          'TETHER_DEVSTACK_APP_EXITED',
          `${app.key} exited during start-up; see its lines above`,
        );
      }
      try {
        const response = await fetch(url, { signal: AbortSignal.timeout(1_000) });
        if (response.status === 200) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline)
        throw new DevstackError(
          'TETHER_DEVSTACK_APP_NOT_READY',
          `${app.key} was not ready at ${url} within ${timeoutMs} ms`,
        );
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** SIGTERM every app (their graceful path), then stop Redis and Postgres; idempotent. */
  async down(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    for (const { timer } of this.crashLoop.values()) clearTimeout(timer);
    // A stopping stack is no stack: nobody should start using it now.
    rmSync(this.stackFile, { force: true });
    await this.devConsole?.close();
    const budgetMs = (this.options.shutdownTimeoutMs ?? 5_000) + 2_000;
    // Apps first (their last act is flushing spans to the sink), then the sink.
    const apps = [...this.children.entries()].filter(([key]) => key !== 'traceSink');
    const sink = [...this.children.entries()].filter(([key]) => key === 'traceSink');
    for (const group of [apps, sink]) await this.terminate(group, budgetMs);
    await this.nat?.close();
    await Promise.all([this.redis?.close(), this.postgres?.close()]);
  }

  private async terminate(children: [string, ChildProcess][], budgetMs: number): Promise<void> {
    await Promise.all(
      children.map(async ([key, child]) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = once(child, 'exit');
        child.kill('SIGTERM');
        const timer = setTimeout(() => {
          this.log(`${key} did not exit within ${budgetMs} ms of SIGTERM; killing it`);
          child.kill('SIGKILL');
        }, budgetMs);
        await exited;
        clearTimeout(timer);
      }),
    );
  }
}
