import type { Meter, Tracer } from '@opentelemetry/api';
import type { CircuitBreaker, RetryBudget } from '@tether/retry';
import type { ClusterOptions, RedisOptions as IORedisOptions } from 'ioredis';
import type { ConnectionOptions } from 'node:tls';
import { LOGGER_METHODS, type Logger, Redactor, stderrLogger } from './logger.ts';
import {
  booleanOption,
  methodsOption,
  numberOption,
  objectOption,
  oneOfOption,
  rejectUnknownKeys,
  secretOption,
  stringOption,
  TetherInvalidOptionError,
} from '@tether/errors';
import { readRequiredFile } from './required-file.ts';

/**
 * - `request`: for request handlers. Fail fast: no offline queue (a command sent while disconnected
 *   is rejected at once, nothing waits for a reconnect), ioredis never re-sends a command that was
 *   in flight when the socket closed (it cannot know whether it is idempotent; our retry policy
 *   does), short command and socket timeouts.
 * - `worker`: for job workers and subscribers. Blocking reads (BRPOP, XREAD BLOCK) must wait for as
 *   long as they asked: offline queue on (bounded by `offlineQueueLimit`, and a command still queued
 *   when its call's deadline passes is taken out, never sent), no command or socket timeout
 *   (keepalive detects dead peers), subscriptions restored after a reconnect. A command in flight
 *   when the connection closes is rejected (RedisConnectionLostError), not re-sent: it may have run.
 */
export type RedisProfile = 'request' | 'worker';

export interface RedisEndpoint {
  host: string;
  port: number;
}

export interface RedisRetryOptions {
  /** Attempts per `execute()`, the first included. Default 150 (~40 s of backoff at these delays): the deadline, not the count, ends a retry loop (a Sentinel failover takes seconds of fast-failing attempts). */
  maxAttempts?: number;
  /** First retry delay, ms. Default 25: a reconnect after a killed connection takes a few ms. */
  initialDelayMs?: number;
  /** Longest retry delay, ms. Default 500. */
  maxDelayMs?: number;
  budget?: RetryBudget;
  breaker?: CircuitBreaker;
}

export interface RedisOptions {
  /** `redis://[user:password@]host:port[/db]` or `rediss://` (TLS). Fields below override it. */
  url?: string;
  /** Default: from the URL, else `localhost`. */
  host?: string;
  /** Default: from the URL, else 6379. */
  port?: number;
  /** ACL user. Default: from the URL, else none (`default`). */
  username?: string;
  /** Never logged. Prefer `passwordFile`. */
  password?: string;
  /** File holding the password (a Kubernetes secret mount), read at creation. */
  passwordFile?: string;
  /** Database index. Default: from the URL, else 0. */
  db?: number;
  /** TLS on. Default: true for `rediss://`, else false. */
  tls?: boolean;
  /** CA bundle (PEM) for TLS. Default: the system store. */
  tlsCaFile?: string;
  /** See RedisProfile. Default `request`. */
  profile?: RedisProfile;
  /** Name in metrics, logs and outage spans. Default `redis`. */
  name?: string;
  /** `CLIENT SETNAME`, visible in CLIENT LIST. Default: `$OTEL_SERVICE_NAME`, else `tether`. */
  connectionName?: string;
  /** TCP connect + handshake, ms. Default 5000: a blackholed SYN would otherwise wait for the kernel (minutes). */
  connectTimeoutMs?: number;
  /** One command's reply, ms (0 = none). Default: request 1000 (request-path commands take milliseconds), worker 0 (blocking reads wait on purpose). The socket is kept. */
  commandTimeoutMs?: number;
  /** No byte received while replies are pending for this long: the socket is destroyed and reconnected, ms (0 = off). Default: request 2000 (a silently dropped connection is replaced well within the 5 s deadline), worker 0. */
  socketTimeoutMs?: number;
  /** Idle time before the first TCP keepalive probe, ms. Default 10000: dead peer noticed ~20 s after traffic stops; keeps NAT mappings alive. */
  keepAliveMs?: number;
  /** First reconnect delay, ms (decorrelated jitter from @tether/retry's createBackoff). Default 50. */
  reconnectInitialDelayMs?: number;
  /** Longest reconnect delay, ms. Default 500: the first command after the server is back waits at most this long. */
  reconnectMaxDelayMs?: number;
  /** Default deadline of one `execute()`, retries included, ms. Default: request 5000, worker 30000. */
  deadlineMs?: number;
  /** Worker profile: commands `execute()` lets wait in the offline queue while disconnected; beyond it a call fails at once with RedisOfflineQueueFullError (nothing sent). Default 1000. */
  offlineQueueLimit?: number;
  retry?: RedisRetryOptions;
  /** Sentinel endpoints; with `sentinelMasterName`, the master is discovered (and followed on failover) through them. */
  sentinels?: RedisEndpoint[];
  /** The monitored master's name. Required with `sentinels`. */
  sentinelMasterName?: string;
  /** Password of the sentinels themselves (if they require one). */
  sentinelPassword?: string;
  /** Cluster seed nodes: connect as a Redis Cluster client (slots and redirections handled by ioredis). */
  cluster?: RedisEndpoint[];
  logger?: Logger;
  meter?: Meter;
  tracer?: Tracer;
}

const KNOWN_KEYS = [
  'url',
  'host',
  'port',
  'username',
  'password',
  'passwordFile',
  'db',
  'tls',
  'tlsCaFile',
  'profile',
  'name',
  'connectionName',
  'connectTimeoutMs',
  'commandTimeoutMs',
  'socketTimeoutMs',
  'keepAliveMs',
  'reconnectInitialDelayMs',
  'reconnectMaxDelayMs',
  'deadlineMs',
  'offlineQueueLimit',
  'retry',
  'sentinels',
  'sentinelMasterName',
  'sentinelPassword',
  'cluster',
  'logger',
  'meter',
  'tracer',
] as const;
const RETRY_KEYS = ['maxAttempts', 'initialDelayMs', 'maxDelayMs', 'budget', 'breaker'] as const;

export interface ResolvedRedisOptions {
  name: string;
  profile: RedisProfile;
  host: string;
  port: number;
  deadlineMs: number;
  reconnectInitialDelayMs: number;
  reconnectMaxDelayMs: number;
  /** 0 for the request profile (no offline queue at all). */
  offlineQueueLimit: number;
  retry: Required<Pick<RedisRetryOptions, 'maxAttempts' | 'initialDelayMs' | 'maxDelayMs'>> &
    Pick<RedisRetryOptions, 'budget' | 'breaker'>;
  logger: Logger;
  meter: Meter | undefined;
  tracer: Tracer | undefined;
  redactor: Redactor;
  /** Options for `new Redis()` (standalone or Sentinel), or `redisOptions` of a Cluster. retryStrategy is added by the client. */
  ioredis: IORedisOptions;
  /** Set for Cluster mode. */
  cluster: { nodes: RedisEndpoint[]; options: ClusterOptions } | undefined;
}

interface UrlFields {
  host?: string;
  port?: number;
  username?: string;
  password?: string;
  db?: number;
  tls?: boolean;
}

function parseRedisUrl(url: unknown): UrlFields {
  if (typeof url !== 'string' || url.length === 0)
    throw new TetherInvalidOptionError('url', 'must be a non-empty string', { value: url, secret: true });
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TetherInvalidOptionError(
      'url',
      'is not a valid URL (expected redis://[user:password@]host:6379[/db] or rediss://)',
    );
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new TetherInvalidOptionError('url', 'must use the scheme redis:// or rediss://', {
      value: `${parsed.protocol}//`,
    });
  }
  const fields: UrlFields = { tls: parsed.protocol === 'rediss:' };
  if (parsed.hostname) fields.host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  if (parsed.port) fields.port = Number(parsed.port);
  try {
    if (parsed.username) fields.username = decodeURIComponent(parsed.username);
    if (parsed.password) fields.password = decodeURIComponent(parsed.password);
  } catch {
    throw new TetherInvalidOptionError('url', 'has malformed percent-encoding in its user or password part');
  }
  const db = parsed.pathname.replace(/^\//, '');
  if (db) {
    if (!/^\d+$/.test(db))
      throw new TetherInvalidOptionError('url', 'must have a database number as its path', {
        value: `/${db}`,
      });
    fields.db = Number(db);
  }
  if ([...parsed.searchParams.keys()].length > 0)
    throw new TetherInvalidOptionError('url', 'cannot have query parameters (use the options)');
  return fields;
}

function endpoints(field: string, value: unknown): RedisEndpoint[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.length === 0)
    throw new TetherInvalidOptionError(field, 'must be a non-empty array of { host, port }', { value });
  return value.map((e: unknown, i) => {
    if (e === null || typeof e !== 'object')
      throw new TetherInvalidOptionError(`${field}[${i}]`, 'must be { host, port }', { value: e });
    const { host, port } = e as { host?: unknown; port?: unknown };
    const h = stringOption(`${field}[${i}].host`, host);
    if (h === undefined) throw new TetherInvalidOptionError(`${field}[${i}].host`, 'is required');
    if (port === undefined) throw new TetherInvalidOptionError(`${field}[${i}].port`, 'is required');
    const p = numberOption(`${field}[${i}].port`, port, 0, { min: 1, max: 65535, integer: true });
    return { host: h, port: p };
  });
}

function offlineQueueLimit(value: unknown, request: boolean): number {
  if (!request) return numberOption('offlineQueueLimit', value, 1_000, { min: 1, integer: true });
  if (value !== undefined)
    throw new TetherInvalidOptionError(
      'offlineQueueLimit',
      'cannot be set with profile "request", which has no offline queue (it applies to "worker")',
    );
  return 0;
}

/** Validates everything up front; the first problem throws a TetherInvalidOptionError naming its field. */
export function resolveRedisOptions(options: RedisOptions): ResolvedRedisOptions {
  objectOption('options', options);
  rejectUnknownKeys('', options, KNOWN_KEYS);
  const url = options.url === undefined ? {} : parseRedisUrl(options.url);
  const redactor = new Redactor();
  const profile = oneOfOption('profile', options.profile, 'request', ['request', 'worker']);
  const request = profile === 'request';

  const host = stringOption('host', options.host) ?? url.host ?? 'localhost';
  const port = numberOption('port', options.port ?? url.port, 6379, { min: 1, max: 65535, integer: true });
  const db = numberOption('db', options.db ?? url.db, 0, { min: 0, integer: true });
  const username = stringOption('username', options.username) ?? url.username;
  const explicitPassword = secretOption('password', options.password);
  if (explicitPassword !== undefined && options.passwordFile !== undefined) {
    throw new TetherInvalidOptionError('passwordFile', 'cannot be combined with password (pick one)');
  }
  const password =
    options.passwordFile !== undefined
      ? readRequiredFile('passwordFile', options.passwordFile)
      : (explicitPassword ?? url.password);
  redactor.add(password);
  const sentinelPassword = secretOption('sentinelPassword', options.sentinelPassword);
  redactor.add(sentinelPassword);

  const tlsOn = booleanOption('tls', options.tls, url.tls ?? false);
  const ca = options.tlsCaFile === undefined ? undefined : readRequiredFile('tlsCaFile', options.tlsCaFile);
  if (ca !== undefined && !tlsOn)
    throw new TetherInvalidOptionError(
      'tlsCaFile',
      'cannot be set while TLS is off (use rediss:// or tls: true)',
    );
  const tls: ConnectionOptions | undefined = tlsOn
    ? { rejectUnauthorized: true, ...(ca === undefined ? {} : { ca }) }
    : undefined;

  const sentinels = endpoints('sentinels', options.sentinels);
  const sentinelMasterName = stringOption('sentinelMasterName', options.sentinelMasterName);
  if (sentinels && sentinelMasterName === undefined)
    throw new TetherInvalidOptionError('sentinelMasterName', 'is required with sentinels');
  if (!sentinels && sentinelMasterName !== undefined)
    throw new TetherInvalidOptionError('sentinels', 'are required with sentinelMasterName');
  const clusterNodes = endpoints('cluster', options.cluster);
  if (clusterNodes && sentinels)
    throw new TetherInvalidOptionError('cluster', 'cannot be combined with sentinels');

  const reconnectInitialDelayMs = numberOption(
    'reconnectInitialDelayMs',
    options.reconnectInitialDelayMs,
    50,
    { min: 1 },
  );
  const reconnectMaxDelayMs = numberOption(
    'reconnectMaxDelayMs',
    options.reconnectMaxDelayMs,
    Math.max(500, reconnectInitialDelayMs),
    { min: 1 },
  );
  if (reconnectMaxDelayMs < reconnectInitialDelayMs) {
    throw new TetherInvalidOptionError(
      'reconnectMaxDelayMs',
      `must be >= reconnectInitialDelayMs (${reconnectInitialDelayMs})`,
      { value: reconnectMaxDelayMs },
    );
  }
  const retry = options.retry ?? {};
  objectOption('retry', retry);
  rejectUnknownKeys('retry', retry, RETRY_KEYS);
  const initialDelayMs = numberOption('retry.initialDelayMs', retry.initialDelayMs, 25, { min: 1 });
  const maxDelayMs = numberOption('retry.maxDelayMs', retry.maxDelayMs, Math.max(500, initialDelayMs), {
    min: 1,
  });
  if (maxDelayMs < initialDelayMs)
    throw new TetherInvalidOptionError(
      'retry.maxDelayMs',
      `must be >= retry.initialDelayMs (${initialDelayMs})`,
      {
        value: maxDelayMs,
      },
    );

  const commandTimeoutMs = numberOption('commandTimeoutMs', options.commandTimeoutMs, request ? 1_000 : 0, {
    min: 0,
  });
  const socketTimeoutMs = numberOption('socketTimeoutMs', options.socketTimeoutMs, request ? 2_000 : 0, {
    min: 0,
  });
  const logger =
    options.logger === undefined
      ? stderrLogger
      : methodsOption<Logger>('logger', options.logger, LOGGER_METHODS, ' (a pino logger fits)');

  const ioredis: IORedisOptions = {
    host,
    port,
    db,
    ...(username === undefined ? {} : { username }),
    ...(password === undefined ? {} : { password }),
    ...(tls ? { tls } : {}),
    connectionName:
      stringOption('connectionName', options.connectionName) ?? process.env['OTEL_SERVICE_NAME'] ?? 'tether',
    connectTimeout: numberOption('connectTimeoutMs', options.connectTimeoutMs, 5_000, { min: 1 }),
    ...(commandTimeoutMs > 0 ? { commandTimeout: commandTimeoutMs } : {}),
    ...(socketTimeoutMs > 0 ? { socketTimeout: socketTimeoutMs } : {}),
    keepAlive: numberOption('keepAliveMs', options.keepAliveMs, 10_000, { min: 1 }),
    // A READONLY reply means we reached a replica (failover): reconnect to find the new master and
    // re-send the command, which the replica refused and therefore never ran.
    reconnectOnError: (error) => (error.message.startsWith('READONLY') ? 2 : false),
    enableOfflineQueue: !request,
    // 0: a command in flight when the socket closes is rejected at once (request); null: a queued
    // command waits for the reconnect (worker), bounded by its call's deadline (redis-attempt.ts).
    maxRetriesPerRequest: request ? 0 : null,
    // Never re-send a command that was in flight: it may have run (an INCR would count twice). The
    // worker profile's in-flight commands are rejected on close instead (redis.ts).
    autoResendUnfulfilledCommands: false,
    autoResubscribe: true,
    ...(sentinels
      ? {
          sentinels,
          name: sentinelMasterName,
          role: 'master' as const,
          ...(sentinelPassword === undefined ? {} : { sentinelPassword }),
          ...(tls ? { enableTLSForSentinelMode: true } : {}),
          // failoverDetector stays off: in ioredis 6.0 its disconnect can race a master lookup in
          // progress and end the client for good. A dead master shows up as connection errors
          // anyway, and a demoted one as READONLY (reconnectOnError above).
        }
      : {}),
  };
  const cluster = clusterNodes
    ? {
        nodes: clusterNodes,
        options: {
          enableOfflineQueue: !request,
          maxRedirections: 16,
          // ioredis' Cluster would re-send a command rejected with "Connection is closed." (which it
          // may have run: a master restarted with it in flight) on another node, and retry CLUSTERDOWN
          // and TRYAGAIN on its own timers, out of reach of the call's deadline. Hand them to the
          // retry policy, which knows whether the work is idempotent.
          retryDelayOnFailover: 0,
          retryDelayOnClusterDown: 0,
          retryDelayOnTryAgain: 0,
        } satisfies ClusterOptions,
      }
    : undefined;

  return {
    name: stringOption('name', options.name) ?? 'redis',
    profile,
    host,
    port,
    deadlineMs: numberOption('deadlineMs', options.deadlineMs, request ? 5_000 : 30_000, { min: 1 }),
    reconnectInitialDelayMs,
    reconnectMaxDelayMs,
    offlineQueueLimit: offlineQueueLimit(options.offlineQueueLimit, request),
    retry: {
      maxAttempts: numberOption('retry.maxAttempts', retry.maxAttempts, 150, { min: 1, integer: true }),
      initialDelayMs,
      maxDelayMs,
      ...(retry.budget === undefined ? {} : { budget: retry.budget }),
      ...(retry.breaker === undefined ? {} : { breaker: retry.breaker }),
    },
    logger,
    meter: options.meter,
    tracer: options.tracer,
    redactor,
    ioredis,
    cluster,
  };
}
