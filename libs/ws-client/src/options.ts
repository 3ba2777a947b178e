import type { Agent } from 'node:http';
import type { Tracer } from '@opentelemetry/api';
import {
  functionOption,
  MAX_TIMER_MS,
  numberOption,
  objectOption,
  oneOfOption,
  TetherInvalidOptionError as InvalidOptionError,
} from '@tether/errors';

/** A token, or a function called before every connect; its signal aborts after `tokenTimeoutMs`. */
export type TokenSource = string | ((signal: AbortSignal) => string | Promise<string>);

type Pem = string | Buffer | Array<string | Buffer>;

/**
 * What is passed through to `ws` (and from it to node:http/https/tls) unchanged. Headers and the
 * handshake timeout are the client's own (`token`, `connectTimeoutMs`), so they are not here.
 */
export interface WsTransportOptions {
  /** An http(s).Agent: e.g. `new HttpsProxyAgent(process.env.HTTPS_PROXY)` to go through a proxy. */
  agent?: Agent;
  /** Trusted CA certificate(s), PEM: for a gateway behind a private or self-signed CA. */
  ca?: Pem;
  /** Client certificate chain (mutual TLS), PEM. */
  cert?: Pem;
  /** Client private key (mutual TLS), PEM. Never logged. */
  key?: Pem;
  /** Passphrase of `key`. Never logged. */
  passphrase?: string;
  /** false accepts any server certificate: for local tests only. Default true. */
  rejectUnauthorized?: boolean;
  /** TLS SNI server name, when it differs from the URL's host. */
  servername?: string;
  /** Largest message accepted from the server, in bytes; a larger one closes with 1009. ws default 100 MiB. */
  maxPayload?: number;
  /** permessage-deflate negotiation (ws' option). ws default true. */
  perMessageDeflate?: boolean | Record<string, unknown>;
  /** IP family for the DNS lookup: 4, 6, or 0 for both. */
  family?: 0 | 4 | 6;
}

export interface WsClientOptions {
  /** Gateway URL, `ws://` or `wss://` (e.g. `ws://127.0.0.1:8081/v1/stream`). Required. */
  url: string;
  /** Bearer token, or a function called before every connect (so a refreshed token is used). Required. */
  token: TokenSource;
  /** A token function that has not settled after this long fails the attempt (WsTokenTimeoutError; backoff, then a new call). Default 10000 ms. */
  tokenTimeoutMs?: number;
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
  /**
   * Restart closes (1012/1001) reconnected within restartReconnectDelayMs before the next ones, until
   * a connection stays up for stableAfterMs, use the normal jittered backoff. Default 1: a single
   * rollout is quick, a crash-looping gateway or a proxy that closes at once is backed off from.
   */
  restartsBeforeBackoff?: number;
  /** A connection open this long resets the backoff. Default 5000 ms. */
  stableAfterMs?: number;
  /** How long `close()` waits for the server's close frame before cutting the socket. Default 1000 ms. */
  closeTimeoutMs?: number;
  /** Uniform random source in [0, 1) for the jitter. Default `Math.random`. */
  random?: () => number;
  /** Where `ws.connect` spans go. Default `trace.getTracer('@tether/ws-client')`. */
  tracer?: Tracer;
  /** Passed through to `ws`: proxy agent, CA, mutual TLS, maxPayload… Unknown keys are refused. */
  ws?: WsTransportOptions;
  /**
   * Called when the gateway answers a subscription with `reset` (its history no longer covers the
   * cursor): re-read the job over HTTP, update your state, and return the job's `lastEventId`; the
   * client then resubscribes after it. Without it (or if it throws) the job is dropped from the
   * subscriptions and only the `reset` event tells you. Default none.
   */
  onReset?: (reset: { jobId: string; reason: string }) => string | undefined | Promise<string | undefined>;
}

export interface ResolvedWsClientOptions {
  url: URL;
  token: TokenSource;
  tokenTimeoutMs: number;
  tokenIn: 'header' | 'query';
  pingIntervalMs: number;
  pongTimeoutMs: number;
  connectTimeoutMs: number;
  initialReconnectDelayMs: number;
  maxReconnectDelayMs: number;
  restartReconnectDelayMs: number;
  restartsBeforeBackoff: number;
  stableAfterMs: number;
  closeTimeoutMs: number;
  random: () => number;
  tracer: Tracer | undefined;
  ws: WsTransportOptions;
  onReset: WsClientOptions['onReset'];
}

/** Validates every option at construction so a typo is a start-up error, not a reconnect loop. */
export function resolveOptions(options: WsClientOptions): ResolvedWsClientOptions {
  objectOption('options', options);
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
      `must be >= initialReconnectDelayMs (${initialReconnectDelayMs})`,
      { value: maxReconnectDelayMs },
    );
  }
  const tokenIn = oneOfOption('tokenIn', options.tokenIn, 'header', ['header', 'query'] as const);
  const random = functionOption('random', options.random, Math.random);
  if (options.tracer !== undefined && typeof options.tracer?.startSpan !== 'function')
    throw new InvalidOptionError('tracer', 'must be an OpenTelemetry Tracer', { value: options.tracer });
  if (options.onReset !== undefined && typeof options.onReset !== 'function')
    throw new InvalidOptionError('onReset', 'must be a function', { value: options.onReset });
  return {
    url: parseUrl(options.url),
    token: token(options.token),
    tokenTimeoutMs: duration('tokenTimeoutMs', options.tokenTimeoutMs, 10_000, 1),
    tokenIn,
    pingIntervalMs: duration('pingIntervalMs', options.pingIntervalMs, 15_000, 10),
    pongTimeoutMs: duration('pongTimeoutMs', options.pongTimeoutMs, 5000, 10),
    connectTimeoutMs: duration('connectTimeoutMs', options.connectTimeoutMs, 10_000, 1),
    initialReconnectDelayMs,
    maxReconnectDelayMs,
    restartReconnectDelayMs: duration('restartReconnectDelayMs', options.restartReconnectDelayMs, 1000, 0),
    restartsBeforeBackoff: count('restartsBeforeBackoff', options.restartsBeforeBackoff, 1),
    stableAfterMs: duration('stableAfterMs', options.stableAfterMs, 5000, 0),
    closeTimeoutMs: duration('closeTimeoutMs', options.closeTimeoutMs, 1000, 0),
    random,
    tracer: options.tracer,
    ws: transport(options.ws),
    onReset: options.onReset,
  };
}

function count(field: string, value: unknown, fallback: number): number {
  return numberOption(field, value, fallback, { integer: true, min: 0 });
}

// Buffer only exists on Node; these options only mean something there.
const isPem = (v: unknown): boolean =>
  typeof v === 'string' || (typeof Buffer !== 'undefined' && Buffer.isBuffer(v));

/** Each key's check; the message never shows the value (keys and passphrases are secrets). */
const transportChecks: Record<keyof WsTransportOptions, [(v: unknown) => boolean, string]> = {
  agent: [
    (v) => typeof (v as { addRequest?: unknown } | null)?.addRequest === 'function',
    'must be an http.Agent or https.Agent (e.g. an HttpsProxyAgent)',
  ],
  ca: [
    (v) => isPem(v) || (Array.isArray(v) && v.every(isPem)),
    'must be PEM text, a Buffer, or an array of them',
  ],
  cert: [
    (v) => isPem(v) || (Array.isArray(v) && v.every(isPem)),
    'must be PEM text, a Buffer, or an array of them',
  ],
  key: [
    (v) => isPem(v) || (Array.isArray(v) && v.every(isPem)),
    'must be PEM text, a Buffer, or an array of them',
  ],
  passphrase: [(v) => typeof v === 'string', 'must be a string'],
  rejectUnauthorized: [(v) => typeof v === 'boolean', 'must be a boolean'],
  servername: [(v) => typeof v === 'string' && v.length > 0, 'must be a non-empty string'],
  maxPayload: [(v) => Number.isSafeInteger(v) && (v as number) > 0, 'must be a positive integer (bytes)'],
  perMessageDeflate: [
    (v) => typeof v === 'boolean' || (v !== null && typeof v === 'object'),
    'must be a boolean or an object',
  ],
  family: [(v) => v === 0 || v === 4 || v === 6, 'must be 0, 4 or 6'],
};

function transport(value: unknown): WsTransportOptions {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new InvalidOptionError('ws', 'must be an object of ws options', { value });
  for (const [key, option] of Object.entries(value)) {
    if (option === undefined) continue;
    const check = transportChecks[key as keyof WsTransportOptions];
    if (!check) {
      const own =
        key === 'headers' || key === 'handshakeTimeout'
          ? ' (set by the client: use token / connectTimeoutMs)'
          : '';
      throw new InvalidOptionError(
        `ws.${key}`,
        `is not a supported ws option${own}; supported: ${Object.keys(transportChecks).join(', ')}`,
      );
    }
    if (!check[0](option)) throw new InvalidOptionError(`ws.${key}`, check[1]);
  }
  return { ...(value as WsTransportOptions) };
}

/** Milliseconds: `connectTimeoutMs must be a number between 1 and 2147483647, got "5000"`. */
function duration(field: string, value: unknown, fallback: number, min: number): number {
  return numberOption(field, value, fallback, { min, max: MAX_TIMER_MS });
}

function parseUrl(value: unknown): URL {
  if (typeof value !== 'string' || value.length === 0)
    throw new InvalidOptionError('url', 'must be a non-empty ws:// or wss:// URL');
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    // never echoed: a URL can carry credentials
    throw new InvalidOptionError('url', 'is not a valid URL');
  }
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:')
    throw new InvalidOptionError('url', 'must use ws: or wss:', { value: url.protocol });
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
