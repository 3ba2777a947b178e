import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  createAdminServer,
  createProbeHandler,
  type MetricsHandler,
  type ProbeHandler,
  type ProbeResult,
} from './admin-server.ts';
import { BeaconRegistry, type Beacon } from './beacons.ts';
import { numberOption, TetherInvalidOptionError } from '@tether/errors';
import { runHooks, type Hook, type ShutdownHookFn, type ShutdownHookOptions } from './hooks.ts';
import { HttpServerDrainer, type HttpDrainState, type TrackableServer } from './http-drain.ts';
import { EventLoopMonitor } from './liveness.ts';
import { resolveLifecycleOptions, type LifecycleOptions, type ResolvedLifecycleOptions } from './options.ts';
import { ReadinessCheck, type ReadinessCheckFn, type ReadinessCheckOptions } from './readiness.ts';
import { WebSocketDrainer, type WebSocketServerLike } from './websocket-drain.ts';

/** What was still open when a deadline hit: logged, so the exit-1 line says what was lost. */
export interface OpenWork {
  httpServers: HttpDrainState[];
  webSocketClients: number;
  beacons: string[];
  runningHook?: string;
}

export interface Lifecycle {
  /**
   * Registers a dependency check for /readyz (runs in the background, see ReadinessCheck). Names are
   * unique. Reported in the body; fails the probe only with `{ critical: true }` (see ReadinessCheckOptions).
   */
  addReadinessCheck(name: string, check: ReadinessCheckFn, options?: ReadinessCheckOptions): void;
  /** Registers cleanup run at shutdown, in reverse order of registration, each with its own timeout. */
  addShutdownHook(name: string, fn: ShutdownHookFn, options?: ShutdownHookOptions): void;
  /** Drains this server at shutdown (node:http, node:https, node:http2, Express's `app.listen()`). Returns it. */
  trackHttpServer<S extends TrackableServer>(server: S): S;
  /** Closes this `ws` server's clients with 1012 at shutdown. Returns it. */
  trackWebSocketServer<W extends WebSocketServerLike>(wss: W): W;
  /** Work in progress shutdown waits for; `release()` it when done. */
  beacon(name: string): Beacon;
  /** /startupz (and /readyz) pass from now on. */
  startupComplete(): void;
  /** Serves GET /metrics on the admin server (e.g. a Prometheus exporter's request handler). */
  setMetricsHandler(handler: MetricsHandler): void;
  /**
   * Starts the admin server (probes + metrics). Defaults: options.adminPort, options.adminHost
   * (`::`, dual-stack; falls back to 0.0.0.0, with a warning, on a host without IPv6).
   */
  listenAdmin(port?: number, host?: string): Promise<AddressInfo>;
  /**
   * The probes as a request handler for a server of your own (one-port deployments):
   * `app.use(lifecycle.probeHandler)` in Express, or `if (lifecycle.probeHandler(req, res)) return;`
   * in a node:http handler. Serves /livez /readyz /startupz /metrics; other paths go to `next`
   * (returns false). Same answers as the admin server.
   */
  readonly probeHandler: ProbeHandler;
  /** /readyz answers 503 from now on (lightship's signalNotReady): maintenance, a cache rebuild, a pause. */
  signalNotReady(reason?: string): void;
  /** Undoes signalNotReady(). Does not override startup or shutdown. */
  signalReady(): void;
  /** The admin server (not listening until listenAdmin). */
  readonly adminServer: Server;
  readonly isShuttingDown: boolean;
  /** Aborts when shutdown starts: loops stop taking new work. */
  readonly signal: AbortSignal;
  /** Starts the shutdown (what a signal does); resolves with the exit code passed to `exit`. Idempotent. */
  shutdown(reason?: string): Promise<number>;
  /** What shutdown would still wait for right now. */
  openWork(): OpenWork;
}

function raceUntil(work: Promise<unknown>, deadline: number): Promise<boolean> {
  const waitMs = Math.max(0, Math.floor(deadline - performance.now()));
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    work.then(() => true),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), waitMs);
    }),
  ]).finally(() => clearTimeout(timer));
}

const builtInChecks = ['startup', 'shutdown', 'manual'];

function requireName(field: string, name: unknown): void {
  if (typeof name !== 'string' || name.trim() === '')
    throw new TetherInvalidOptionError(field, 'needs a non-empty name', { value: name });
}

class LifecycleManager implements Lifecycle {
  readonly adminServer: Server;
  readonly probeHandler: ProbeHandler;
  readonly #options: ResolvedLifecycleOptions;
  readonly #checks = new Map<string, ReadinessCheck>();
  readonly #hooks: Hook[] = [];
  readonly #http: HttpServerDrainer[] = [];
  readonly #ws: WebSocketDrainer[] = [];
  readonly #beacons = new BeaconRegistry();
  readonly #eventLoop: EventLoopMonitor;
  readonly #abort = new AbortController();
  readonly #signalHandlers = new Map<NodeJS.Signals, () => void>();
  #metrics: MetricsHandler | undefined;
  #notReadyReason: string | undefined;
  #started = false;
  #runningHook: string | undefined;
  #shutdown: Promise<number> | undefined;
  #resolveShutdown: ((code: number) => void) | undefined;
  #finished = false;
  #watchdog: NodeJS.Timeout | undefined;
  #startedAt = 0;
  #firstSignalAt: number | undefined;

  constructor(options: LifecycleOptions) {
    this.#options = resolveLifecycleOptions(options);
    this.#eventLoop = new EventLoopMonitor(
      this.#options.maxEventLoopDelayMs,
      this.#options.eventLoopWindowMs,
    );
    this.probeHandler = createProbeHandler({
      livez: () => this.#livez(),
      readyz: () => this.#readyz(),
      startupz: () => ({
        ok: this.#started,
        body: { status: this.#started ? 'started' : 'starting', checks: { startup: { ok: this.#started } } },
      }),
      metrics: () => this.#metrics,
    });
    this.adminServer = createAdminServer(this.probeHandler);
    for (const signal of this.#options.signals) {
      const handler = (): void => this.#onSignal(signal);
      this.#signalHandlers.set(signal, handler);
      process.on(signal, handler);
    }
  }

  get isShuttingDown(): boolean {
    return this.#shutdown !== undefined;
  }

  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  addReadinessCheck(name: string, check: ReadinessCheckFn, options: ReadinessCheckOptions = {}): void {
    requireName('addReadinessCheck', name);
    if (typeof check !== 'function')
      throw new TetherInvalidOptionError(`readiness check ${name}`, 'must be a function', { value: check });
    if (this.#checks.has(name) || builtInChecks.includes(name)) {
      throw new TetherInvalidOptionError(
        `readiness check ${name}`,
        `is already registered (${builtInChecks.join(', ')} are built in)`,
      );
    }
    if (options.critical !== undefined && typeof options.critical !== 'boolean')
      throw new TetherInvalidOptionError(`readiness check ${name} critical`, 'must be true or false', {
        value: options.critical,
      });
    const timeoutMs = numberOption(
      `readiness check ${name} timeoutMs`,
      options.timeoutMs,
      this.#options.readinessTimeoutMs,
      { min: 1, integer: true },
    );
    const cacheMs = numberOption(
      `readiness check ${name} cacheMs`,
      options.cacheMs,
      this.#options.readinessCacheMs,
      {
        min: 0,
        integer: true,
      },
    );
    const entry = new ReadinessCheck(name, check, timeoutMs, cacheMs, options.critical ?? false);
    this.#checks.set(name, entry);
    entry.run();
  }

  addShutdownHook(name: string, fn: ShutdownHookFn, options: ShutdownHookOptions = {}): void {
    requireName('addShutdownHook', name);
    if (typeof fn !== 'function')
      throw new TetherInvalidOptionError(`shutdown hook ${name}`, 'must be a function', { value: fn });
    const timeoutMs = numberOption(
      `shutdown hook ${name} timeoutMs`,
      options.timeoutMs,
      this.#options.hookTimeoutMs,
      {
        min: 1,
        integer: true,
      },
    );
    this.#hooks.push({ name, fn, timeoutMs });
  }

  trackHttpServer<S extends TrackableServer>(server: S): S {
    const drainer = new HttpServerDrainer(server, this.#options.keepAliveGraceMs);
    this.#http.push(drainer);
    if (this.isShuttingDown) drainer.startDraining();
    return server;
  }

  trackWebSocketServer<W extends WebSocketServerLike>(wss: W): W {
    this.#ws.push(new WebSocketDrainer(wss));
    return wss;
  }

  beacon(name: string): Beacon {
    requireName('beacon', name);
    return this.#beacons.create(name);
  }

  startupComplete(): void {
    this.#started = true;
  }

  setMetricsHandler(handler: MetricsHandler): void {
    if (typeof handler !== 'function')
      throw new TetherInvalidOptionError('setMetricsHandler', 'needs a (req, res) => void function', {
        value: handler,
      });
    this.#metrics = handler;
  }

  async listenAdmin(port = this.#options.adminPort, host = this.#options.adminHost): Promise<AddressInfo> {
    try {
      return await this.#listen(port, host);
    } catch (error) {
      // A kernel without IPv6 refuses the socket itself; IPv4 probes must still reach the pod.
      const code = (error as NodeJS.ErrnoException).code;
      if (host !== '::' || (code !== 'EAFNOSUPPORT' && code !== 'EADDRNOTAVAIL')) throw error;
      this.#options.logger.warn(
        { host, code, fallback: '0.0.0.0' },
        `admin server cannot listen on :: (${code}: no IPv6 on this host): listening on 0.0.0.0, IPv4 only`,
      );
      return this.#listen(port, '0.0.0.0');
    }
  }

  #listen(port: number, host: string): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.adminServer.once('error', reject);
      this.adminServer.listen(port, host, () => {
        this.adminServer.off('error', reject);
        resolve(this.adminServer.address() as AddressInfo);
      });
    });
  }

  signalNotReady(reason = 'signalNotReady() called'): void {
    if (typeof reason !== 'string')
      throw new TetherInvalidOptionError('signalNotReady', 'needs a string reason', { value: reason });
    this.#notReadyReason = reason;
  }

  signalReady(): void {
    this.#notReadyReason = undefined;
  }

  openWork(): OpenWork {
    return {
      httpServers: this.#http.map((d) => d.state()),
      webSocketClients: this.#ws.reduce((sum, d) => sum + d.openClients, 0),
      beacons: this.#beacons.names(),
      ...(this.#runningHook === undefined ? {} : { runningHook: this.#runningHook }),
    };
  }

  shutdown(reason = 'shutdown requested'): Promise<number> {
    if (this.#shutdown) return this.#shutdown;
    this.#shutdown = new Promise<number>((resolve) => {
      this.#resolveShutdown = resolve;
    });
    void this.#run(reason);
    return this.#shutdown;
  }

  #livez(): ProbeResult {
    const eventLoop = this.#eventLoop.read();
    return {
      ok: eventLoop.ok,
      body: { status: eventLoop.ok ? 'alive' : 'event loop blocked', checks: { eventLoop } },
    };
  }

  #readyz(): ProbeResult {
    const shuttingDown = this.isShuttingDown;
    const manual = this.#notReadyReason;
    const checks: Record<string, unknown> = {
      startup: { ok: this.#started },
      shutdown: { ok: !shuttingDown },
      manual: manual === undefined ? { ok: true } : { ok: false, error: manual },
    };
    let ok = this.#started && !shuttingDown && manual === undefined;
    let degraded = false;
    for (const [name, check] of this.#checks) {
      // During shutdown the pools behind the checks are closing: report the last result, start no run.
      const state = shuttingDown ? check.lastResult() : check.read();
      checks[name] = { ...state, critical: check.critical };
      if (check.critical) ok &&= state.ok;
      else degraded ||= !state.ok;
    }
    const status = shuttingDown
      ? 'shutting down'
      : !this.#started
        ? 'starting'
        : !ok
          ? 'not ready'
          : degraded
            ? 'degraded'
            : 'ready';
    return { ok, body: { status, checks } };
  }

  #onSignal(signal: NodeJS.Signals): void {
    const now = performance.now();
    // The first signal starts the shutdown, or joins one that shutdown() already started in code.
    if (this.#firstSignalAt === undefined) {
      this.#firstSignalAt = now;
      void this.shutdown(`received ${signal}`);
      return;
    }
    const afterMs = Math.round(now - this.#firstSignalAt);
    if (afterMs < this.#options.duplicateSignalWindowMs) {
      this.#options.logger.info(
        { signal, afterMs },
        `${signal} ${afterMs} ms after the first signal: the same request delivered twice, ignored`,
      );
      return;
    }
    this.#options.logger.warn({ signal, open: this.openWork() }, `second ${signal}: exiting at once`);
    this.#finish(1);
  }

  async #run(reason: string): Promise<void> {
    const { logger, drainDelayMs, shutdownTimeoutMs, releaseGraceMs } = this.#options;
    this.#startedAt = performance.now();
    const hardDeadline = this.#startedAt + drainDelayMs + shutdownTimeoutMs;
    this.#abort.abort(new Error(`shutting down: ${reason}`));
    logger.info({ reason, drainDelayMs, shutdownTimeoutMs }, 'shutdown started: readiness fails from now on');
    // The watchdog is the last resort below the grace period: it fires even if a hook blocks forever.
    this.#watchdog = setTimeout(() => {
      logger.error(
        { open: this.openWork() },
        `shutdown deadline (${drainDelayMs + shutdownTimeoutMs} ms) reached: exiting with work still open`,
      );
      this.#finish(1);
    }, drainDelayMs + shutdownTimeoutMs);
    for (const drainer of this.#http) drainer.startDraining();
    if (drainDelayMs > 0) await sleep(drainDelayMs);
    if (this.#finished) return;

    logger.info({}, 'drain delay over: closing listeners, WebSockets and waiting for work in progress');
    // Keep enough of the budget for the hooks (pools close, telemetry flushes) and for beacons to requeue.
    const hooksReserveMs = this.#hooks.reduce((sum, hook) => sum + hook.timeoutMs, 0) + releaseGraceMs;
    const workDeadline = Math.min(
      hardDeadline,
      Math.max(this.#startedAt + drainDelayMs + shutdownTimeoutMs / 2, hardDeadline - hooksReserveMs),
    );
    const { webSocketCloseWindowMs, webSocketCloseCode, random } = this.#options;
    const drained = await raceUntil(
      Promise.all([
        ...this.#http.map((d) => d.close()),
        ...this.#ws.map((d) => d.close(webSocketCloseWindowMs, webSocketCloseCode, random)),
        this.#beacons.whenEmpty(),
      ]),
      workDeadline,
    );
    if (this.#finished) return;
    if (!drained) {
      logger.error(
        { open: this.openWork() },
        'drain deadline reached: releasing beacons and closing the remaining connections',
      );
      if (this.#beacons.names().length > 0) {
        this.#beacons.abortAll(new Error('shutdown deadline reached: hand the work back'));
        await raceUntil(
          this.#beacons.whenEmpty(),
          Math.min(hardDeadline, performance.now() + releaseGraceMs),
        );
        const left = this.#beacons.names();
        if (left.length > 0)
          logger.error(
            { beacons: left },
            `beacons not released within ${releaseGraceMs} ms: ${left.join(', ')}`,
          );
      }
      for (const drainer of this.#ws) drainer.force();
      for (const drainer of this.#http) drainer.force();
    }
    if (this.#finished) return;
    const hooksClean = await runHooks(this.#hooks, hardDeadline, logger, (name) => {
      this.#runningHook = name;
    });
    this.#finish(drained && hooksClean ? 0 : 1);
  }

  #finish(code: number): void {
    if (this.#finished) return;
    this.#finished = true;
    clearTimeout(this.#watchdog);
    for (const [signal, handler] of this.#signalHandlers) process.off(signal, handler);
    this.#eventLoop.stop();
    this.adminServer.close();
    this.adminServer.closeAllConnections();
    const durationMs = this.#startedAt === 0 ? 0 : Math.round(performance.now() - this.#startedAt);
    const log = code === 0 ? this.#options.logger.info : this.#options.logger.error;
    log.call(
      this.#options.logger,
      { exitCode: code, durationMs },
      code === 0 ? 'shutdown complete' : 'shutdown incomplete: exiting with code 1',
    );
    this.#resolveShutdown?.(code);
    this.#options.exit(code);
  }
}

/**
 * Creates the process's lifecycle manager: probes on an admin server and the graceful shutdown.
 * Create exactly one per process, first thing in main (it installs the signal handlers).
 */
export function createLifecycle(options: LifecycleOptions = {}): Lifecycle {
  return new LifecycleManager(options);
}
