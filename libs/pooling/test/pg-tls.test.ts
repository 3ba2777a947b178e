import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EphemeralPostgres, type PostgresOptions } from '@tether/devstack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgPool, type PgPoolOptions, type TetherPgPool } from '../src/index.ts';
import { CaptureLogger } from './capture-logger.ts';

type Tls = NonNullable<EphemeralPostgres['tls']>;

let server: EphemeralPostgres;
let tls: Tls;
let otherCaDir: string;

beforeAll(async () => {
  server = await EphemeralPostgres.start({ tls: true } satisfies PostgresOptions);
  tls = server.tls as Tls;
  // A CA that did not sign the server's certificate.
  otherCaDir = mkdtempSync(join(tmpdir(), 'tether-other-ca-'));
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      join(otherCaDir, 'ca.key'),
      '-out',
      join(otherCaDir, 'ca.crt'),
      '-days',
      '1',
      '-subj',
      '/CN=some other CA',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
    ],
    { stdio: 'ignore' },
  );
});

afterAll(async () => {
  await server?.close();
  if (otherCaDir) rmSync(otherCaDir, { recursive: true, force: true });
});

/** The certificate role over TCP, no password: only its client certificate can log it in. */
function certRolePool(options: Partial<PgPoolOptions>): TetherPgPool {
  return createPgPool({
    connectionString: `postgres://${tls.certUser}@127.0.0.1:${server.port}/${server.database}`,
    max: 2,
    deadlineMs: 10_000,
    logger: new CaptureLogger(),
    ...options,
  });
}

async function whoAmI(pool: TetherPgPool): Promise<unknown> {
  const { rows } = await pool.query(
    'SELECT current_user AS who, ssl, client_dn FROM pg_stat_ssl WHERE pid = pg_backend_pid()',
  );
  return rows[0];
}

describe('client certificates against a real TLS Postgres (pg_hba cert)', () => {
  it('sslmode=verify-full with sslCertFile/sslKeyFile: logged in as the certificate CN over TLS', async () => {
    const pool = certRolePool({
      sslmode: 'verify-full',
      sslRootCertFile: tls.caFile,
      sslCertFile: tls.clientCertFile,
      sslKeyFile: tls.clientKeyFile,
    });
    try {
      expect(await whoAmI(pool)).toEqual({ who: tls.certUser, ssl: true, client_dn: `/CN=${tls.certUser}` });
    } finally {
      await pool.drain(5_000);
    }
  });

  it('the same from the DSN alone (sslmode, sslrootcert, sslcert, sslkey)', async () => {
    const pool = createPgPool({
      connectionString: server.certUrl as string,
      max: 2,
      logger: new CaptureLogger(),
    });
    try {
      expect(await whoAmI(pool)).toEqual({ who: tls.certUser, ssl: true, client_dn: `/CN=${tls.certUser}` });
    } finally {
      await pool.drain(5_000);
    }
  });

  it('without the client certificate: refused by the server with a clear error, not retried until the deadline', async () => {
    const pool = certRolePool({ sslmode: 'verify-full', sslRootCertFile: tls.caFile });
    try {
      const startedAt = performance.now();
      const error = await pool.query('SELECT 1').then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toMatchObject({ code: '28000' });
      expect((error as Error).message).toMatch(/certificate/);
      expect(performance.now() - startedAt).toBeLessThan(10_000);
    } finally {
      await pool.drain(5_000);
    }
  });

  it('with a CA that did not sign the server certificate: refused by the client before anything is sent', async () => {
    const pool = certRolePool({
      sslmode: 'verify-full',
      sslRootCertFile: join(otherCaDir, 'ca.crt'),
      sslCertFile: tls.clientCertFile,
      sslKeyFile: tls.clientKeyFile,
    });
    try {
      const error = await pool.query('SELECT 1').then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(Error);
      expect(`${(error as { code?: string }).code} ${(error as Error).message}`).toMatch(
        /SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY|self-signed certificate|unable to verify/i,
      );
    } finally {
      await pool.drain(5_000);
    }
  });
});
