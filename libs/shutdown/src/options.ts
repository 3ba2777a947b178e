import {
  functionOption,
  methodsOption,
  numberOption,
  stringOption,
  TetherInvalidOptionError,
} from '@tether/errors';
import { stderrLogger, type Logger } from './logger.ts';

/** Options of `createLifecycle`. Each is documented once, here, with its default and unit. */
export interface LifecycleOptions {
  /**
   * Time between the signal and closing the listeners, while readiness already answers 503 and the
   * endpoint removal propagates (env `SHUTDOWN_DRAIN_DELAY_MS`). Set it to 0 when the chart's preStop
   * sleep covers the propagation: the two add up. Default 5000 ms (safe without a preStop sleep).
   */
  drainDelayMs?: number;
  /**
   * Budget after the drain delay for connections, WebSockets, beacons and hooks (env `SHUTDOWN_TIMEOUT_MS`).
   * The hard watchdog exits with code 1 at drainDelayMs + shutdownTimeoutMs after the signal. Default 15000 ms.
   */
  shutdownTimeoutMs?: number;
  /**
   * While draining, an idle HTTP/1 keep-alive connection stays open this long (with nothing received)
   * before it is closed, so a request the client already sent on it, still in a proxy or unread in the
   * kernel, is answered with `Connection: close` instead of reset. Must be below shutdownTimeoutMs.
   * Default 1000 ms.
   */
  keepAliveGraceMs?: number;
  /** Default timeout of each shutdown hook (overridable per hook). Default 5000 ms. */
  hookTimeoutMs?: number;
  /** Time beacons get to requeue their work and `release()` once their `signal` aborted at the deadline. Default 1000 ms. */
  releaseGraceMs?: number;
  /** WebSocket clients are closed at random moments spread over this window, so they do not reconnect in one stampede. Default 1000 ms. */
  webSocketCloseWindowMs?: number;
  /** Close code sent to WebSocket clients: 1012 (service restart) or 1001 (going away). Default 1012. */
  webSocketCloseCode?: number;
  /** Liveness fails when the event loop was blocked longer than this in the current or previous window. Default 2000 ms. */
  maxEventLoopDelayMs?: number;
  /** Length of an event-loop-delay measurement window. Default 1000 ms. */
  eventLoopWindowMs?: number;
  /** Default timeout of a readiness check (overridable per check). Default 1000 ms. */
  readinessTimeoutMs?: number;
  /** Default time a readiness result is reused before the next probe runs the check again. Default 1000 ms. */
  readinessCacheMs?: number;
  /** Port `listenAdmin()` uses when called without one (env `ADMIN_PORT`); 0 picks a free port. Default 9090. */
  adminPort?: number;
  /**
   * Address the admin server binds. Default '::': dual-stack on Linux, so the kubelet reaches it on the
   * pod's IPv4 or IPv6 address (IPv6-only and dual-stack clusters). On a host without IPv6,
   * `listenAdmin()` falls back to '0.0.0.0' and logs a warning.
   */
  adminHost?: string;
  /** Signals that start the shutdown; a later one exits at once (code 1). `[]` installs no handler. Default ['SIGTERM', 'SIGINT']. */
  signals?: NodeJS.Signals[];
  /**
   * A signal this soon after the one that started the shutdown is the same request delivered twice
   * (Ctrl-C reaches both npm and the app, and npm forwards it): it is logged and ignored. Only a
   * signal after this window forces the exit. 0 makes every second signal force it. Default 1000 ms.
   */
  duplicateSignalWindowMs?: number;
  /** Called with the exit code when shutdown ends. Default `process.exit`. */
  exit?: (code: number) => void;
  /** pino-compatible logger. Default: JSON lines on stderr. */
  logger?: Logger;
  /** Random source in [0, 1) for the WebSocket close jitter. Default Math.random. */
  random?: () => number;
}

export type ResolvedLifecycleOptions = Required<LifecycleOptions>;

/** An integer option >= `min` (and <= `max` when given). */
function nonNegativeInteger(field: string, value: unknown, fallback: number, min = 0, max?: number): number {
  return numberOption(field, value, fallback, { min, ...(max === undefined ? {} : { max }), integer: true });
}

/** Applies defaults and validates every option up front: a wrong option is a start-up error. */
export function resolveLifecycleOptions(options: LifecycleOptions = {}): ResolvedLifecycleOptions {
  const logger =
    options.logger === undefined
      ? stderrLogger
      : methodsOption<Logger>('logger', options.logger, ['info', 'warn', 'error'], ' (a pino logger fits)');
  const exit = functionOption('exit', options.exit, (exitCode: number) => process.exit(exitCode));
  const random = functionOption('random', options.random, Math.random);
  if (
    options.signals !== undefined &&
    (!Array.isArray(options.signals) || options.signals.some((s) => typeof s !== 'string'))
  ) {
    throw new TetherInvalidOptionError('signals', 'must be an array of signal names', {
      value: options.signals,
    });
  }
  const adminHost = stringOption('adminHost', options.adminHost) ?? '::';
  const code = nonNegativeInteger('webSocketCloseCode', options.webSocketCloseCode, 1012, 1000, 4999);
  const shutdownTimeoutMs = nonNegativeInteger('shutdownTimeoutMs', options.shutdownTimeoutMs, 15_000, 1);
  return {
    drainDelayMs: nonNegativeInteger('drainDelayMs', options.drainDelayMs, 5000),
    shutdownTimeoutMs,
    keepAliveGraceMs: nonNegativeInteger(
      'keepAliveGraceMs',
      options.keepAliveGraceMs,
      Math.min(1000, shutdownTimeoutMs - 1),
      0,
      shutdownTimeoutMs - 1,
    ),
    hookTimeoutMs: nonNegativeInteger('hookTimeoutMs', options.hookTimeoutMs, 5000, 1),
    releaseGraceMs: nonNegativeInteger('releaseGraceMs', options.releaseGraceMs, 1000),
    webSocketCloseWindowMs: nonNegativeInteger(
      'webSocketCloseWindowMs',
      options.webSocketCloseWindowMs,
      1000,
    ),
    webSocketCloseCode: code,
    maxEventLoopDelayMs: nonNegativeInteger('maxEventLoopDelayMs', options.maxEventLoopDelayMs, 2000, 1),
    eventLoopWindowMs: nonNegativeInteger('eventLoopWindowMs', options.eventLoopWindowMs, 1000, 10),
    readinessTimeoutMs: nonNegativeInteger('readinessTimeoutMs', options.readinessTimeoutMs, 1000, 1),
    readinessCacheMs: nonNegativeInteger('readinessCacheMs', options.readinessCacheMs, 1000),
    adminPort: nonNegativeInteger('adminPort', options.adminPort, 9090, 0, 65_535),
    adminHost,
    signals: options.signals ?? ['SIGTERM', 'SIGINT'],
    duplicateSignalWindowMs: nonNegativeInteger(
      'duplicateSignalWindowMs',
      options.duplicateSignalWindowMs,
      1000,
      0,
      60_000,
    ),
    exit,
    logger,
    random,
  };
}
