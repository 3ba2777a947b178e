import type { Tracer } from '@opentelemetry/api';
import { InvalidOptionError } from '@tether/retry';

/** Node's timers overflow above this (about 24.8 days) and fire at once instead. */
const MAX_TIMER_MS = 2_147_483_647;

export type TokenSource = string | (() => string | Promise<string>);

export interface WsClientOptions {
  /** Gateway URL, `ws://` or `wss://` (e.g. `ws://127.0.0.1:8081/v1/stream`). Required. */
  url: string;
  /** Bearer token, or a function called before every connect (so a refreshed token is used). Required. */
  token: TokenSource;
  /** `header` (default): `Authorization: Bearer …`. `query`: `?access_token=…`, as a browser must. */
  tokenIn?: 'header' | 'query';
  /** Send a ping this often. Default 15000 ms. */
  pingIntervalMs?: number;
  /** No pong this long after a ping: the connection is terminated and replaced. Default 5000 ms. */
  pongTimeoutMs?: number;
  /** Upgrade must complete within this. Default 10000 ms. */
  connectTimeoutMs?: number;
  /** Backoff after a failure: lower bound of every delay (decorrelated jitter). Default 250 ms. */
  initialReconnectDelayMs?: number;
  /** Backoff after a failure: no delay is longer. Default 10000 ms. */
  maxReconnectDelayMs?: number;
  /** After a 1012/1001 close the reconnect waits uniform(0, this). Default 1000 ms. */
  restartReconnectDelayMs?: number;
  /** A connection open this long resets the backoff. Default 5000 ms. */
  stableAfterMs?: number;
  /** How long `close()` waits for the server's close frame before cutting the socket. Default 1000 ms. */
  closeTimeoutMs?: number;
  /** Uniform random source in [0, 1) for the jitter. Default `Math.random`. */
  random?: () => number;
  /** Where `ws.connect` spans go. Default `trace.getTracer('@tether/ws-client')`. */
  tracer?: Tracer;
}

export interface ResolvedWsClientOptions {
  url: URL;
  token: TokenSource;
  tokenIn: 'header' | 'query';
  pingIntervalMs: number;
  pongTimeoutMs: number;
  connectTimeoutMs: number;
  initialReconnectDelayMs: number;
  maxReconnectDelayMs: number;
  restartReconnectDelayMs: number;
  stableAfterMs: number;
  closeTimeoutMs: number;
  random: () => number;
  tracer: Tracer | undefined;
}

/** Validates every option at construction so a typo is a start-up error, not a reconnect loop. */
export function resolveOptions(options: WsClientOptions): ResolvedWsClientOptions {
  if (options === null || typeof options !== 'object')
    throw new InvalidOptionError('options', 'must be an object');
  const initialReconnectDelayMs = duration(
    'initialReconnectDelayMs',
    options.initialReconnectDelayMs,
    250,
    1,
  );
  const maxReconnectDelayMs = duration(
    'maxReconnectDelayMs',
    options.maxReconnectDelayMs,
    Math.max(10_000, initialReconnectDelayMs),
    1,
  );
  if (maxReconnectDelayMs < initialReconnectDelayMs) {
    throw new InvalidOptionError(
      'maxReconnectDelayMs',
      `must be >= initialReconnectDelayMs (${initialReconnectDelayMs}), got ${maxReconnectDelayMs}`,
    );
  }
  const tokenIn = options.tokenIn ?? 'header';
  if (tokenIn !== 'header' && tokenIn !== 'query')
    throw new InvalidOptionError('tokenIn', `must be 'header' or 'query', got ${String(tokenIn)}`);
  if (options.random !== undefined && typeof options.random !== 'function')
    throw new InvalidOptionError('random', 'must be a function');
  if (options.tracer !== undefined && typeof options.tracer?.startSpan !== 'function')
    throw new InvalidOptionError('tracer', 'must be an OpenTelemetry Tracer');
  return {
    url: parseUrl(options.url),
    token: token(options.token),
    tokenIn,
    pingIntervalMs: duration('pingIntervalMs', options.pingIntervalMs, 15_000, 10),
    pongTimeoutMs: duration('pongTimeoutMs', options.pongTimeoutMs, 5000, 10),
    connectTimeoutMs: duration('connectTimeoutMs', options.connectTimeoutMs, 10_000, 1),
    initialReconnectDelayMs,
    maxReconnectDelayMs,
    restartReconnectDelayMs: duration('restartReconnectDelayMs', options.restartReconnectDelayMs, 1000, 0),
    stableAfterMs: duration('stableAfterMs', options.stableAfterMs, 5000, 0),
    closeTimeoutMs: duration('closeTimeoutMs', options.closeTimeoutMs, 1000, 0),
    random: options.random ?? Math.random,
    tracer: options.tracer,
  };
}

function duration(option: string, value: unknown, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new InvalidOptionError(
      option,
      `must be a finite number of milliseconds, got ${typeof value === 'number' ? value : typeof value}`,
    );
  }
  if (value < min || value > MAX_TIMER_MS)
    throw new InvalidOptionError(option, `must be between ${min} and ${MAX_TIMER_MS} ms, got ${value}`);
  return value;
}

function parseUrl(value: unknown): URL {
  if (typeof value !== 'string' || value.length === 0)
    throw new InvalidOptionError('url', 'must be a non-empty ws:// or wss:// URL');
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidOptionError('url', 'is not a valid URL');
  }
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:')
    throw new InvalidOptionError('url', `must use ws: or wss:, got ${url.protocol}`);
  // The token goes in `token`, where it is kept out of error messages; a URL is often logged.
  if (url.searchParams.has('access_token'))
    throw new InvalidOptionError(
      'url',
      "must not carry access_token: pass it as `token` with tokenIn: 'query'",
    );
  return url;
}

function token(value: unknown): TokenSource {
  if (typeof value === 'function') return value as TokenSource;
  if (typeof value !== 'string' || value.length === 0)
    throw new InvalidOptionError('token', 'must be a non-empty string or a function returning one');
  return value;
}
