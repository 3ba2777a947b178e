import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { EphemeralPostgres } from '@tether/devstack';
import { TetherInvalidOptionError } from '@tether/errors';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  createPgPool,
  createRedis,
  type PgPoolOptions,
  PoolConfigError,
  type RedisOptions,
} from '../src/index.ts';
import { resolvePgOptions } from '../src/pg-options.ts';
import { CaptureLogger } from './capture-logger.ts';

const SECRET = 'S3cr3t-Pa55word';
const dir = mkdtempSync(join(tmpdir(), 'tether-pooling-config-'));

// Everything the process writes while a test runs: the password must appear in none of it.
let written = '';
const originalStdout = process.stdout.write.bind(process.stdout);
const originalStderr = process.stderr.write.bind(process.stderr);
beforeEach(() => {
  written = '';
  const capture = (original: typeof process.stdout.write) =>
    ((chunk: string | Uint8Array, ...rest: never[]) => {
      written += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
      return original(chunk, ...rest);
    }) as typeof process.stdout.write;
  process.stdout.write = capture(originalStdout);
  process.stderr.write = capture(originalStderr);
});
afterEach(() => {
  process.stdout.write = originalStdout;
  process.stderr.write = originalStderr;
  expect(written).not.toContain(SECRET);
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** The one error creation throws, checked to be the shared option error, not leaking the secret. */
function configError(create: () => unknown): TetherInvalidOptionError {
  let caught: unknown;
  try {
    create();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(TetherInvalidOptionError);
  // The deprecated name is the same class: `instanceof PoolConfigError` keeps working.
  expect(caught).toBeInstanceOf(PoolConfigError);
  const error = caught as TetherInvalidOptionError;
  expect(error.code).toBe('TETHER_INVALID_OPTION');
  expect(error.retryable).toBe(false);
  for (const rendering of [
    error.message,
    String(error.stack),
    JSON.stringify(error),
    inspect(error, { depth: 5 }),
  ]) {
    expect(rendering).not.toContain(SECRET);
  }
  return error;
}

const pgCases: [string, PgPoolOptions, string][] = [
  [
    'malformed DSN (bad port)',
    { connectionString: `postgres://app:${SECRET}@db:99999/app` },
    'connectionString',
  ],
  ['malformed DSN (not a URL)', { connectionString: `app:${SECRET}@db/app` }, 'connectionString'],
  ['malformed DSN (wrong scheme)', { connectionString: `mysql://app:${SECRET}@db/app` }, 'connectionString'],
  [
    'malformed DSN (bad percent-encoding)',
    { connectionString: `postgres://app:${SECRET}%zz@db/app` },
    'connectionString',
  ],
  [
    'unknown DSN parameter',
    { connectionString: `postgres://app:${SECRET}@db/app?sslmod=require` },
    'connectionString?sslmod',
  ],
  [
    'unknown sslmode in the DSN',
    { connectionString: `postgres://app:${SECRET}@db/app?sslmode=prefer` },
    'sslmode',
  ],
  [
    'unknown sslmode option',
    { connectionString: `postgres://app:${SECRET}@db/app`, sslmode: 'verify_full' as 'verify-full' },
    'sslmode',
  ],
  ['negative max', { user: 'app', password: SECRET, max: -1 }, 'max'],
  ['zero max', { user: 'app', password: SECRET, max: 0 }, 'max'],
  ['negative min', { user: 'app', password: SECRET, min: -2 }, 'min'],
  ['min above max', { user: 'app', password: SECRET, min: 5, max: 2 }, 'min'],
  ['fractional max', { user: 'app', password: SECRET, max: 2.5 }, 'max'],
  ['negative idle timeout', { user: 'app', password: SECRET, idleTimeoutMs: -5 }, 'idleTimeoutMs'],
  ['negative connect timeout', { user: 'app', password: SECRET, connectTimeoutMs: -1 }, 'connectTimeoutMs'],
  [
    'jitter above lifetime',
    { user: 'app', password: SECRET, maxLifetimeMs: 1000, maxLifetimeJitterMs: 2000 },
    'maxLifetimeJitterMs',
  ],
  [
    'retry delay inverted',
    { user: 'app', password: SECRET, retry: { initialDelayMs: 500, maxDelayMs: 100 } },
    'retry.maxDelayMs',
  ],
  ['missing password file', { user: 'app', passwordFile: join(dir, 'nope', 'password') }, 'passwordFile'],
  [
    'password and password file',
    { user: 'app', password: SECRET, passwordFile: join(dir, 'nope') },
    'passwordFile',
  ],
  [
    'missing CA file',
    {
      connectionString: `postgres://app:${SECRET}@db/app?sslmode=verify-full&sslrootcert=${join(dir, 'ca.pem')}`,
    },
    'sslRootCertFile',
  ],
  [
    'misspelled option',
    { user: 'app', password: SECRET, idleTimeoutMS: 10 } as PgPoolOptions,
    'idleTimeoutMS',
  ],
  ['no user', { password: SECRET, host: 'db' }, 'user'],
];

describe('createPgPool configuration', () => {
  it.each(pgCases)('%s: one clear error naming the field, no password in it', (_name, options, field) => {
    const error = configError(() => createPgPool({ ...options, logger: new CaptureLogger() }));
    expect(error.field).toBe(field);
    expect(error.message.startsWith(`${field} `)).toBe(true);
  });

  it('names the missing password file', () => {
    const path = join(dir, 'missing-password');
    expect(configError(() => createPgPool({ user: 'app', passwordFile: path })).message).toContain(path);
  });

  it('maps sslmode to TLS options as libpq does', () => {
    const ca = join(dir, 'ca.pem');
    writeFileSync(ca, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
    const ssl = (sslmode: PgPoolOptions['sslmode'], extra: PgPoolOptions = {}) =>
      resolvePgOptions({ host: 'db.internal', user: 'app', password: SECRET, sslmode, ...extra }).pg.ssl;
    expect(ssl('disable')).toBe(false);
    expect(ssl('require')).toEqual({ rejectUnauthorized: false });
    expect(ssl('require', { sslRootCertFile: ca })).toMatchObject({
      rejectUnauthorized: true,
      ca: expect.stringContaining('BEGIN'),
    });
    const verifyCa = ssl('verify-ca', { sslRootCertFile: ca }) as {
      rejectUnauthorized: boolean;
      checkServerIdentity: () => unknown;
    };
    expect(verifyCa.rejectUnauthorized).toBe(true);
    expect(verifyCa.checkServerIdentity()).toBeUndefined();
    expect(ssl('verify-full')).toEqual({ rejectUnauthorized: true, servername: 'db.internal' });
    // no SNI for an IP literal (RFC 6066, Node's DEP0123); the certificate is still checked against it
    const byIp = resolvePgOptions({
      connectionString: 'postgresql://app@127.0.0.1/orders?sslmode=verify-full',
    });
    expect(byIp.pg.ssl).toEqual({ rejectUnauthorized: true });
  });

  it('reads host, port, database, user, sslmode and application_name from the DSN; fields override it', () => {
    const r = resolvePgOptions({
      connectionString: `postgresql://app:${SECRET}@db:6432/orders?sslmode=require&application_name=api`,
      port: 5433,
    });
    expect(r.pg).toMatchObject({
      host: 'db',
      port: 5433,
      database: 'orders',
      user: 'app',
      application_name: 'api',
    });
    expect(r.sslmode).toBe('require');
    expect(r.pg.keepAlive).toBe(true);
    expect(r.pg.statement_timeout).toBe(10_000);
    expect(r.pg.query_timeout).toBe(12_000);
    // PgBouncer refuses unknown startup parameters: none are sent in that mode.
    const bouncer = resolvePgOptions({
      connectionString: `postgresql://app:${SECRET}@db/orders`,
      pgbouncer: true,
    }).pg;
    expect(bouncer.statement_timeout).toBeUndefined();
    expect(bouncer.idle_in_transaction_session_timeout).toBeUndefined();
  });
});

describe('createPgPool against a real server', () => {
  let server: EphemeralPostgres;
  beforeAll(async () => {
    server = await EphemeralPostgres.start();
    await server.sql(`ALTER ROLE ${server.user} PASSWORD '${SECRET}'`);
  });
  afterAll(async () => {
    await server?.close();
  });

  it('takes the password from a file (trailing newline of a secret mount ignored)', async () => {
    const file = join(dir, 'password');
    writeFileSync(file, `${SECRET}\n`);
    const pool = createPgPool({
      host: server.host,
      port: server.port,
      user: server.user,
      database: server.database,
      passwordFile: file,
    });
    try {
      await expect(pool.query<{ ok: number }>('SELECT 1 AS ok')).resolves.toMatchObject({
        rows: [{ ok: 1 }],
      });
    } finally {
      await pool.drain(2_000);
    }
  });

  it('never puts the password in errors or logs when the connection fails', async () => {
    const logger = new CaptureLogger();
    const wrong = `${SECRET}-wrong`;
    const pool = createPgPool({
      connectionString: `postgres://${server.user}:${wrong}@127.0.0.1:${server.port}/${server.database}`,
      logger,
      deadlineMs: 2_000,
    });
    try {
      const error = (await pool.query('SELECT 1').catch((e: unknown) => e)) as Error & { code?: string };
      expect(error.code).toBe('28P01');
      expect(`${error.message} ${String(error.stack)} ${inspect(error)}`).not.toContain(SECRET);
      expect(logger.text).toContain('28P01');
      expect(logger.text).not.toContain(SECRET);
    } finally {
      await pool.drain(2_000);
    }
  });

  it('sslmode=require refuses a server without TLS instead of falling back to plaintext', async () => {
    const pool = createPgPool({
      connectionString: `${server.url.replace(server.password, SECRET)}?sslmode=require`,
      deadlineMs: 2_000,
      logger: new CaptureLogger(),
    });
    try {
      await expect(pool.query('SELECT 1')).rejects.toThrow(/does not support SSL/);
    } finally {
      await pool.drain(2_000);
    }
  });
});

const redisCases: [string, RedisOptions, string][] = [
  ['malformed URL', { url: `redis://:${SECRET}@cache:99999` }, 'url'],
  ['wrong scheme', { url: `http://:${SECRET}@cache:6379` }, 'url'],
  ['database path not a number', { url: `redis://:${SECRET}@cache:6379/zero` }, 'url'],
  ['unknown profile', { url: `redis://:${SECRET}@cache`, profile: 'batch' as 'worker' }, 'profile'],
  ['negative command timeout', { url: `redis://:${SECRET}@cache`, commandTimeoutMs: -1 }, 'commandTimeoutMs'],
  ['negative keepalive', { url: `redis://:${SECRET}@cache`, keepAliveMs: -1 }, 'keepAliveMs'],
  [
    'sentinels without a master name',
    { password: SECRET, sentinels: [{ host: 's1', port: 26379 }] },
    'sentinelMasterName',
  ],
  [
    'sentinel with a bad port',
    { password: SECRET, sentinels: [{ host: 's1', port: -1 }], sentinelMasterName: 'm' },
    'sentinels[0].port',
  ],
  [
    'cluster and sentinels',
    {
      sentinels: [{ host: 's1', port: 26379 }],
      sentinelMasterName: 'm',
      cluster: [{ host: 'c', port: 7000 }],
    },
    'cluster',
  ],
  ['missing password file', { passwordFile: join(dir, 'none') }, 'passwordFile'],
  ['CA without TLS', { url: 'redis://cache', tlsCaFile: join(dir, 'none') }, 'tlsCaFile'],
];

describe('createRedis configuration', () => {
  it.each(redisCases)('%s: one clear error naming the field, no password in it', (_name, options, field) => {
    expect(configError(() => createRedis({ ...options, logger: new CaptureLogger() })).field).toBe(field);
  });
});
