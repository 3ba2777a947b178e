import { readFile } from 'node:fs/promises';
import type { Meter, Tracer } from '@opentelemetry/api';
import type { CircuitBreaker, RetryBudget } from '@tether/retry';
import type { CustomTypesConfig, PoolConfig } from 'pg';
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
import { parseDsn } from './pg-dsn.ts';
import { SSL_MODES, type SslMode, tlsOptions } from './pg-tls.ts';

/** Retries of `query()` / `withClient()` / `transaction()` through @tether/retry. */
export interface PgRetryOptions {
  /** Attempts per operation, the first included. Default 50 (~25 s of backoff at these delays): the deadline, not the count, should end a retry loop during a restart. */
  maxAttempts?: number;
  /** First backoff delay, ms. Default 50: a killed connection is usually replaced on the first retry. */
  initialDelayMs?: number;
  /** Longest backoff delay, ms. Default 1000: once the server is back, the next retry comes within a second. */
  maxDelayMs?: number;
  /** Token bucket shared by every caller of this dependency: caps retries during a long outage. Default: none. */
  budget?: RetryBudget;
  /** Circuit breaker for this dependency. Default: none. */
  breaker?: CircuitBreaker;
}

export interface PgPoolOptions {
  /** libpq URL `postgres://user:password@host:5432/db?sslmode=verify-full&sslrootcert=/ca.pem`. Fields below override it. */
  connectionString?: string;
  /** Server host. Default: from the URL, else `localhost`. */
  host?: string;
  /** Server port. Default: from the URL, else 5432. */
  port?: number;
  /** Database. Default: from the URL, else the user name (as libpq). */
  database?: string;
  /** Role. Required (here or in the URL). */
  user?: string;
  /**
   * Password, or a function returning it (sync or async) called for every new connection: short-lived
   * tokens (AWS RDS IAM, Azure AD / Entra). Prefer `passwordFile` for static secrets. Never logged.
   */
  password?: string | (() => string | Promise<string>);
  /** File holding the password (a Kubernetes secret mount). Checked at creation, re-read for every new connection so a rotated secret is picked up. */
  passwordFile?: string;
  /** `disable | require | verify-ca | verify-full`. Default: from the URL, else `disable` (use `verify-full` in production). */
  sslmode?: SslMode;
  /** CA bundle (PEM) to verify the server certificate against. Default: from the URL's `sslrootcert`, else the system store. */
  sslRootCertFile?: string;
  /** Client certificate (PEM) for certificate authentication. Default: the URL's `sslcert`. Needs `sslKeyFile` and sslmode other than disable. */
  sslCertFile?: string;
  /** Private key (PEM) of that certificate. Default: the URL's `sslkey`. Never logged. */
  sslKeyFile?: string;
  /**
   * libpq `options`: command-line options sent at session start, e.g. `-c lock_timeout=2000`.
   * Default: the URL's `options`. Not with `pgbouncer` (it refuses the startup parameter).
   */
  options?: string;
  /** Schemas for `search_path`, in order, e.g. `['app', 'public']`; sent at session start. Not with `pgbouncer`. */
  searchPath?: string[];
  /** Custom type parsers (pg's `types`: an object with `getTypeParser(oid, format)`), e.g. bigint as BigInt. */
  types?: CustomTypesConfig;
  /** `application_name` shown in pg_stat_activity and passed on by PgBouncer. Default: `$OTEL_SERVICE_NAME`, else `tether`. */
  applicationName?: string;
  /** Name of this pool in metrics, logs and outage spans. Default `postgres`. */
  name?: string;
  /** Most connections. Default 10: Postgres pays ~10 MB per backend; size for pods x max <= max_connections. */
  max?: number;
  /** Connections kept even when idle. Default 0. */
  min?: number;
  /**
   * Most connections being opened at once. Default 2 (HikariCP opens one at a time). pg-pool alone
   * opens one per waiting caller, up to `max`, all together: on a busy CPU the simultaneous server
   * start-ups each outlast connectTimeoutMs, are destroyed after the server paid for them, and the
   * retries open more. Callers beyond it wait for the next connection made or released.
   */
  maxConnecting?: number;
  /** TCP connect + TLS + authentication, and waiting for a free connection, ms. Default 5000: a blackholed SYN is retried by the kernel for minutes. */
  connectTimeoutMs?: number;
  /**
   * A connect still in the TCP handshake this long has probably lost its SYN, ms (0 = never look).
   * Default 250. While one is, a bare TCP connect probes the server's host and port this often (at
   * most 2 in flight); when a probe gets through, the connects still waiting for the kernel's next
   * SYN retransmission (1 s or more away) are abandoned (nothing was sent) and their callers get a
   * connection asked for anew at once (no retry attempt, backoff or breaker failure), so the first
   * query after a network outage heals does not wait up to a second for it.
   */
  stalledConnectMs?: number;
  /**
   * Idle time before the first TCP keepalive probe, ms. Default 10000: a dead peer is noticed about
   * 10 s + 10 probes x 1 s = ~20 s after traffic stops, and the probes keep NAT mappings (350 s on AWS) alive.
   */
  keepAliveInitialDelayMs?: number;
  /** An idle connection is closed after this long, ms (0 = never). Default 60000: below every cloud NAT/LB idle timeout (Azure 240 s, AWS 350 s). */
  idleTimeoutMs?: number;
  /** Connections are recycled after at most this long, ms (0 = never). Default 1800000 (30 min): picks up DNS/failover changes and rebalances behind load balancers. */
  maxLifetimeMs?: number;
  /** Each connection's lifetime is drawn uniformly from [maxLifetimeMs - jitter, maxLifetimeMs], ms. Default 180000 (10 %): connections opened together do not expire together. */
  maxLifetimeJitterMs?: number;
  /** Server-side `statement_timeout`, ms (0 = none). Default 10000: the server cancels runaway statements (57014) and the connection stays usable. */
  statementTimeoutMs?: number;
  /** Client-side query timeout, ms (0 = none). Default `statementTimeoutMs + 2000`: fires only when the server or network is unresponsive; the connection is then evicted. */
  queryTimeoutMs?: number;
  /** Server-side `idle_in_transaction_session_timeout`, ms (0 = none). Default 30000: a stuck client cannot hold locks for ever. */
  idleInTransactionTimeoutMs?: number;
  /** A connection idle longer than this is pinged (`SELECT 1`) before it is handed out, ms. Default 1000 (pgx: 1 s, HikariCP: 500 ms). */
  validateIdleAfterMs?: number;
  /** Timeout of that ping, ms. Default 1000. A failed ping evicts the connection and every connection idle since before it. */
  validationTimeoutMs?: number;
  /** Default deadline of one `query()` / `withClient()` / `transaction()` including retries, ms. Default 15000. */
  deadlineMs?: number;
  /** Retry tuning; see PgRetryOptions. */
  retry?: PgRetryOptions;
  /**
   * PgBouncer in transaction pooling mode: no startup parameters (PgBouncer rejects unknown ones;
   * timeouts are set per transaction with SET LOCAL instead), no named prepared statements. Default false.
   */
  pgbouncer?: boolean;
  /** pino-compatible logger. Default: warnings and errors as JSON on stderr. */
  logger?: Logger;
  /** Meter for pool metrics. Default: the global meter `@tether/pooling`. */
  meter?: Meter;
  /** Tracer for outage spans. Default: the global tracer. */
  tracer?: Tracer;
}

const KNOWN_KEYS = [
  'connectionString',
  'host',
  'port',
  'database',
  'user',
  'password',
  'passwordFile',
  'sslmode',
  'sslRootCertFile',
  'sslCertFile',
  'sslKeyFile',
  'options',
  'searchPath',
  'types',
  'applicationName',
  'name',
  'max',
  'min',
  'maxConnecting',
  'connectTimeoutMs',
  'stalledConnectMs',
  'keepAliveInitialDelayMs',
  'idleTimeoutMs',
  'maxLifetimeMs',
  'maxLifetimeJitterMs',
  'statementTimeoutMs',
  'queryTimeoutMs',
  'idleInTransactionTimeoutMs',
  'validateIdleAfterMs',
  'validationTimeoutMs',
  'deadlineMs',
  'retry',
  'pgbouncer',
  'logger',
  'meter',
  'tracer',
] as const;

const RETRY_KEYS = ['maxAttempts', 'initialDelayMs', 'maxDelayMs', 'budget', 'breaker'] as const;

export interface ResolvedPgOptions {
  name: string;
  host: string;
  port: number;
  database: string;
  user: string;
  sslmode: SslMode;
  max: number;
  min: number;
  maxConnecting: number;
  connectTimeoutMs: number;
  stalledConnectMs: number;
  keepAliveInitialDelayMs: number;
  idleTimeoutMs: number;
  maxLifetimeMs: number;
  maxLifetimeJitterMs: number;
  statementTimeoutMs: number;
  queryTimeoutMs: number;
  idleInTransactionTimeoutMs: number;
  validateIdleAfterMs: number;
  validationTimeoutMs: number;
  deadlineMs: number;
  retry: Required<Pick<PgRetryOptions, 'maxAttempts' | 'initialDelayMs' | 'maxDelayMs'>> &
    Pick<PgRetryOptions, 'budget' | 'breaker'>;
  pgbouncer: boolean;
  logger: Logger;
  meter: Meter | undefined;
  tracer: Tracer | undefined;
  redactor: Redactor;
  /** What node-postgres gets (pool + client options). */
  pg: PoolConfig;
}

/** Validates everything up front; the first problem throws a TetherInvalidOptionError naming its field. */
export function resolvePgOptions(options: PgPoolOptions): ResolvedPgOptions {
  objectOption('options', options);
  rejectUnknownKeys('', options, KNOWN_KEYS);
  const dsn = options.connectionString === undefined ? {} : parseDsn(options.connectionString);
  const redactor = new Redactor();

  const host = stringOption('host', options.host) ?? dsn.host ?? 'localhost';
  const port = numberOption('port', options.port ?? dsn.port, 5432, { min: 1, max: 65535, integer: true });
  const user = stringOption('user', options.user) ?? dsn.user;
  if (user === undefined)
    throw new TetherInvalidOptionError('user', 'is required (in the options or the connection string)');
  const database = stringOption('database', options.database) ?? dsn.database ?? user;

  const passwordSource = options.password;
  const explicitPassword =
    typeof passwordSource === 'function' ? undefined : secretOption('password', passwordSource);
  if (passwordSource !== undefined && options.passwordFile !== undefined) {
    throw new TetherInvalidOptionError('passwordFile', 'cannot be combined with password (pick one)');
  }
  let password: PoolConfig['password'];
  if (typeof passwordSource === 'function') {
    // Called by pg for every new connection (a token may expire between two connects).
    password = async () => {
      const value: unknown = await passwordSource();
      if (typeof value !== 'string' || value.length === 0)
        throw new TetherInvalidOptionError('password', 'must be a function returning a non-empty string', {
          value,
          secret: true,
        });
      redactor.add(value);
      return value;
    };
  } else if (options.passwordFile !== undefined) {
    const path = options.passwordFile;
    redactor.add(readRequiredFile('passwordFile', path));
    password = async () => {
      const text = (await readFile(path, 'utf8')).replace(/[\r\n]+$/, '');
      redactor.add(text);
      return text;
    };
  } else {
    password = explicitPassword ?? dsn.password;
    redactor.add(password);
  }

  const sslmode = oneOfOption(
    'sslmode',
    options.sslmode ?? dsn.sslmode,
    'disable',
    SSL_MODES,
    ' (libpq allow/prefer are not supported: they fall back to plaintext silently)',
  );
  const caFile = options.sslRootCertFile ?? dsn.sslrootcert;
  const ca = caFile === undefined ? undefined : readRequiredFile('sslRootCertFile', caFile);
  if (ca !== undefined && sslmode === 'disable')
    throw new TetherInvalidOptionError('sslRootCertFile', 'cannot be set with sslmode "disable"');
  const clientCert = clientCertificate(
    options.sslCertFile ?? dsn.sslcert,
    options.sslKeyFile ?? dsn.sslkey,
    sslmode,
  );
  if (clientCert) redactor.add(clientCert.key);
  const pgbouncer = booleanOption('pgbouncer', options.pgbouncer, false);
  const sessionOptions = startupOptions(options.options ?? dsn.options, options.searchPath, pgbouncer);
  const types = typesOption(options.types);

  const max = numberOption('max', options.max, 10, { min: 1, integer: true });
  const min = numberOption('min', options.min, 0, { min: 0, integer: true });
  if (min > max) throw new TetherInvalidOptionError('min', `must be <= max (${max})`, { value: min });
  const statementTimeoutMs = numberOption('statementTimeoutMs', options.statementTimeoutMs, 10_000, {
    min: 0,
    integer: true,
  });
  const maxLifetimeMs = numberOption('maxLifetimeMs', options.maxLifetimeMs, 1_800_000, { min: 0 });
  const maxLifetimeJitterMs = numberOption(
    'maxLifetimeJitterMs',
    options.maxLifetimeJitterMs,
    Math.min(180_000, maxLifetimeMs / 10),
    { min: 0 },
  );
  if (maxLifetimeJitterMs > maxLifetimeMs) {
    throw new TetherInvalidOptionError('maxLifetimeJitterMs', `must be <= maxLifetimeMs (${maxLifetimeMs})`, {
      value: maxLifetimeJitterMs,
    });
  }
  const retry = options.retry ?? {};
  objectOption('retry', retry);
  rejectUnknownKeys('retry', retry, RETRY_KEYS);
  const initialDelayMs = numberOption('retry.initialDelayMs', retry.initialDelayMs, 50, { min: 1 });
  const maxDelayMs = numberOption('retry.maxDelayMs', retry.maxDelayMs, Math.max(1000, initialDelayMs), {
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

  const stalledConnectMs = numberOption('stalledConnectMs', options.stalledConnectMs, 250, { min: 0 });
  if (stalledConnectMs > 0 && stalledConnectMs < 50)
    throw new TetherInvalidOptionError(
      'stalledConnectMs',
      'must be 0 (off) or at least 50 (a probe goes out every stalledConnectMs while a connect stalls)',
      { value: stalledConnectMs },
    );

  const resolved: Omit<ResolvedPgOptions, 'pg'> = {
    name: stringOption('name', options.name) ?? 'postgres',
    host,
    port,
    database,
    user,
    sslmode,
    max,
    min,
    maxConnecting: numberOption('maxConnecting', options.maxConnecting, 2, { min: 1, integer: true }),
    connectTimeoutMs: numberOption(
      'connectTimeoutMs',
      options.connectTimeoutMs ?? dsn.connectTimeoutMs,
      5_000,
      { min: 1 },
    ),
    stalledConnectMs,
    keepAliveInitialDelayMs: numberOption(
      'keepAliveInitialDelayMs',
      options.keepAliveInitialDelayMs,
      10_000,
      { min: 1 },
    ),
    idleTimeoutMs: numberOption('idleTimeoutMs', options.idleTimeoutMs, 60_000, { min: 0 }),
    maxLifetimeMs,
    maxLifetimeJitterMs,
    statementTimeoutMs,
    queryTimeoutMs: numberOption(
      'queryTimeoutMs',
      options.queryTimeoutMs,
      statementTimeoutMs === 0 ? 0 : statementTimeoutMs + 2_000,
      { min: 0 },
    ),
    idleInTransactionTimeoutMs: numberOption(
      'idleInTransactionTimeoutMs',
      options.idleInTransactionTimeoutMs,
      30_000,
      { min: 0, integer: true },
    ),
    validateIdleAfterMs: numberOption('validateIdleAfterMs', options.validateIdleAfterMs, 1_000, { min: 0 }),
    validationTimeoutMs: numberOption('validationTimeoutMs', options.validationTimeoutMs, 1_000, { min: 1 }),
    deadlineMs: numberOption('deadlineMs', options.deadlineMs, 15_000, { min: 1 }),
    retry: {
      maxAttempts: numberOption('retry.maxAttempts', retry.maxAttempts, 50, { min: 1, integer: true }),
      initialDelayMs,
      maxDelayMs,
      ...(retry.budget === undefined ? {} : { budget: retry.budget }),
      ...(retry.breaker === undefined ? {} : { breaker: retry.breaker }),
    },
    pgbouncer,
    logger:
      options.logger === undefined
        ? stderrLogger
        : methodsOption<Logger>('logger', options.logger, LOGGER_METHODS, ' (a pino logger fits)'),
    meter: options.meter,
    tracer: options.tracer,
    redactor,
  };
  const applicationName =
    stringOption('applicationName', options.applicationName) ??
    dsn.applicationName ??
    process.env['OTEL_SERVICE_NAME'] ??
    'tether';

  const pg: PoolConfig = {
    host,
    port,
    database,
    user,
    ssl: tlsOptions(sslmode, host, ca, clientCert),
    ...(sessionOptions === undefined ? {} : { options: sessionOptions }),
    ...(types === undefined ? {} : { types }),
    max,
    min,
    application_name: applicationName,
    keepAlive: true,
    keepAliveInitialDelayMillis: resolved.keepAliveInitialDelayMs,
    connectionTimeoutMillis: resolved.connectTimeoutMs,
    idleTimeoutMillis: resolved.idleTimeoutMs,
    // Timeouts as startup parameters: applied by the server to every session, no extra round trip.
    // PgBouncer refuses unknown startup parameters, so there they are set per transaction instead.
    ...(resolved.pgbouncer
      ? {}
      : {
          ...(statementTimeoutMs > 0 ? { statement_timeout: statementTimeoutMs } : {}),
          ...(resolved.idleInTransactionTimeoutMs > 0
            ? { idle_in_transaction_session_timeout: resolved.idleInTransactionTimeoutMs }
            : {}),
        }),
    ...(resolved.queryTimeoutMs > 0 ? { query_timeout: resolved.queryTimeoutMs } : {}),
  };
  if (password !== undefined) pg.password = password;
  return { ...resolved, pg };
}

/** Client certificate and key, both or neither, read (and checked) at creation. */
function clientCertificate(
  certFile: string | undefined,
  keyFile: string | undefined,
  sslmode: SslMode,
): { cert: string; key: string } | undefined {
  if (certFile === undefined && keyFile === undefined) return undefined;
  if (certFile === undefined)
    throw new TetherInvalidOptionError('sslCertFile', 'is required with sslKeyFile');
  if (keyFile === undefined) throw new TetherInvalidOptionError('sslKeyFile', 'is required with sslCertFile');
  if (sslmode === 'disable')
    throw new TetherInvalidOptionError('sslCertFile', 'cannot be set with sslmode "disable"');
  return { cert: readRequiredFile('sslCertFile', certFile), key: readRequiredFile('sslKeyFile', keyFile) };
}

// Unquoted identifiers only: anything else would need quoting rules that differ between libpq's
// option parser and the server's list syntax.
const SCHEMA = /^[A-Za-z_][A-Za-z0-9_$]*$/;

/** libpq `options` plus `-c search_path=…`; refused behind PgBouncer, which rejects the startup parameter. */
function startupOptions(
  raw: string | undefined,
  searchPath: unknown,
  pgbouncer: boolean,
): string | undefined {
  const parts: string[] = [];
  const text = stringOption('options', raw);
  if (text !== undefined) parts.push(text);
  if (searchPath !== undefined) {
    if (!Array.isArray(searchPath) || searchPath.length === 0)
      throw new TetherInvalidOptionError('searchPath', 'must be a non-empty array of schema names');
    for (const schema of searchPath) {
      if (typeof schema !== 'string' || !SCHEMA.test(schema))
        throw new TetherInvalidOptionError('searchPath', 'must hold plain schema names only', {
          value: schema,
        });
    }
    parts.push(`-c search_path=${searchPath.join(',')}`);
  }
  if (parts.length === 0) return undefined;
  if (pgbouncer) {
    throw new TetherInvalidOptionError(
      searchPath === undefined ? 'options' : 'searchPath',
      'cannot be sent through PgBouncer, which refuses the startup parameter ' +
        '(set it per role: ALTER ROLE … SET)',
    );
  }
  return parts.join(' ');
}

function typesOption(types: unknown): CustomTypesConfig | undefined {
  if (types === undefined) return undefined;
  if (
    typeof types !== 'object' ||
    types === null ||
    typeof (types as { getTypeParser?: unknown }).getTypeParser !== 'function'
  )
    throw new TetherInvalidOptionError(
      'types',
      'must be an object with a getTypeParser(oid, format) function',
      { value: types },
    );
  return types as CustomTypesConfig;
}
