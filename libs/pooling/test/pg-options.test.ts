import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EphemeralPostgres } from '@tether/devstack';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgPool, PoolConfigError } from '../src/index.ts';
import { resolvePgOptions } from '../src/pg-options.ts';
import { CaptureLogger } from './capture-logger.ts';

let server: EphemeralPostgres;
const dir = mkdtempSync(join(tmpdir(), 'tether-pg-options-'));

beforeAll(async () => {
  server = await EphemeralPostgres.start();
  await server.sql('CREATE SCHEMA app AUTHORIZATION tether');
});
afterAll(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

const base = () => ({ host: server.host, port: server.port, user: server.user, database: server.database });

function configError(fn: () => unknown): PoolConfigError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(PoolConfigError);
    return error as PoolConfigError;
  }
  throw new Error('expected a PoolConfigError');
}

describe('password as a function (RDS IAM / Entra tokens)', () => {
  it('is called for every new connection, never for a reused one', async () => {
    let calls = 0;
    const pool = createPgPool({
      ...base(),
      password: async () => {
        calls++;
        return server.password;
      },
      max: 3,
      logger: new CaptureLogger(),
    });
    try {
      await Promise.all([1, 2, 3].map(() => pool.query('SELECT pg_sleep(0.1)')));
      expect(calls).toBe(3);
      for (let i = 0; i < 5; i++) await pool.query('SELECT 1');
      expect(calls).toBe(3);
    } finally {
      await pool.drain(2_000);
    }
  });

  it('a rejected token never appears in the error or the logs', async () => {
    const token = 'iam-token-abcdef-0123456789';
    const logger = new CaptureLogger();
    const pool = createPgPool({ ...base(), password: () => token, deadlineMs: 2_000, logger });
    try {
      const error = await pool.query('SELECT 1').catch((e: unknown) => e);
      expect(error).toMatchObject({ code: '28P01' });
      expect(String((error as Error).message)).not.toContain(token);
      expect(logger.text).toContain('cannot connect');
      expect(logger.text).not.toContain(token);
    } finally {
      await pool.drain(2_000);
    }
  });
});

describe('session options', () => {
  it('searchPath and libpq options (option and DSN) reach the session', async () => {
    const viaOptions = createPgPool({
      ...base(),
      password: server.password,
      searchPath: ['app', 'public'],
      options: '-c lock_timeout=1234',
      logger: new CaptureLogger(),
    });
    const viaDsn = createPgPool({
      connectionString: `${server.url}?options=${encodeURIComponent('-c lock_timeout=4321')}`,
      logger: new CaptureLogger(),
    });
    try {
      const { rows } = await viaOptions.query<{ sp: string; lt: string }>(
        "SELECT current_setting('search_path') AS sp, current_setting('lock_timeout') AS lt",
      );
      expect(rows[0]).toEqual({ sp: 'app,public', lt: '1234ms' });
      await viaOptions.query('CREATE TABLE IF NOT EXISTS in_app (id int)');
      expect(
        await server.sql("SELECT 1 FROM pg_tables WHERE schemaname = 'app' AND tablename = 'in_app'"),
      ).toHaveLength(1);
      const dsn = await viaDsn.query<{ lt: string }>("SELECT current_setting('lock_timeout') AS lt");
      expect(dsn.rows[0]?.lt).toBe('4321ms');
    } finally {
      await viaOptions.drain(2_000);
      await viaDsn.drain(2_000);
    }
  });

  it('custom types: an int8 parser that returns BigInt', async () => {
    const types = {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === 20
          ? (value: string) => BigInt(value)
          : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
    };
    const pool = createPgPool({ connectionString: server.url, types, logger: new CaptureLogger() });
    try {
      const { rows } = await pool.query<{ big: bigint }>('SELECT 9007199254740993::int8 AS big');
      expect(rows[0]?.big).toBe(9007199254740993n);
    } finally {
      await pool.drain(2_000);
    }
  });

  it('refuses what cannot work, naming the field', () => {
    expect(configError(() => createPgPool({ connectionString: server.url, searchPath: ['a b'] })).field).toBe(
      'searchPath',
    );
    expect(
      configError(() => createPgPool({ connectionString: server.url, searchPath: ['app'], pgbouncer: true }))
        .field,
    ).toBe('searchPath');
    expect(
      configError(() => createPgPool({ connectionString: server.url, options: '-c x=1', pgbouncer: true }))
        .field,
    ).toBe('options');
    expect(configError(() => createPgPool({ connectionString: server.url, types: {} as never })).field).toBe(
      'types',
    );
  });
});

describe('client certificates (sslcert / sslkey)', () => {
  const cert = join(dir, 'client.crt');
  const key = join(dir, 'client.key');
  writeFileSync(cert, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
  writeFileSync(key, '-----BEGIN PRIVATE KEY-----\nsecret-key-material\n-----END PRIVATE KEY-----\n');

  it('from the options or the DSN, presented with TLS', () => {
    for (const options of [
      {
        connectionString: 'postgres://u@db/app',
        sslmode: 'require' as const,
        sslCertFile: cert,
        sslKeyFile: key,
      },
      { connectionString: `postgres://u@db/app?sslmode=verify-full&sslcert=${cert}&sslkey=${key}` },
    ]) {
      const ssl = resolvePgOptions(options).pg.ssl as { cert?: string; key?: string };
      expect(ssl.cert).toContain('BEGIN CERTIFICATE');
      expect(ssl.key).toContain('secret-key-material');
    }
  });

  it('needs both files and TLS, and never echoes the key', () => {
    expect(
      configError(() =>
        resolvePgOptions({ connectionString: 'postgres://u@db/app?sslmode=require', sslCertFile: cert }),
      ).field,
    ).toBe('sslKeyFile');
    expect(
      configError(() =>
        resolvePgOptions({ connectionString: 'postgres://u@db/app?sslmode=require', sslKeyFile: key }),
      ).field,
    ).toBe('sslCertFile');
    const disabled = configError(() =>
      resolvePgOptions({ connectionString: 'postgres://u@db/app', sslCertFile: cert, sslKeyFile: key }),
    );
    expect(disabled.field).toBe('sslCertFile');
    const missing = configError(() =>
      resolvePgOptions({
        connectionString: 'postgres://u@db/app?sslmode=require',
        sslCertFile: cert,
        sslKeyFile: join(dir, 'none'),
      }),
    );
    expect(missing.field).toBe('sslKeyFile');
    expect(missing.message).not.toContain('secret-key-material');
  });
});
