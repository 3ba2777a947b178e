import { readFileSync } from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EphemeralPostgres } from '../src/index.ts';

async function appQuery(server: EphemeralPostgres, text: string): Promise<unknown[]> {
  const client = new pg.Client({ connectionString: server.url, connectionTimeoutMillis: 5_000 });
  client.on('error', () => {});
  await client.connect();
  try {
    return (await client.query(text)).rows;
  } finally {
    await client.end().catch(() => {});
  }
}

describe('EphemeralPostgres', () => {
  let server: EphemeralPostgres;
  beforeAll(async () => {
    server = await EphemeralPostgres.start({ settings: { application_name: 'devstack-test' } });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('serves the application role over TCP with a password and the superuser over the socket', async () => {
    expect(server.url).toMatch(/^postgres:\/\/tether:[0-9a-f]{24}@127\.0\.0\.1:\d+\/tether$/);
    expect(await appQuery(server, 'SELECT current_user AS who, current_database() AS db')).toEqual([
      { who: 'tether', db: 'tether' },
    ]);
    expect(await server.sql('SELECT current_user AS who')).toEqual([{ who: 'postgres' }]);
    const wrong = new pg.Client({ connectionString: server.url.replace(server.password, 'wrong') });
    wrong.on('error', () => {});
    await expect(wrong.connect()).rejects.toMatchObject({ code: '28P01' });
  });

  it('passes server settings through and changes them at runtime', async () => {
    expect(await server.sql('SHOW fsync')).toEqual([{ fsync: 'off' }]);
    await server.setConfig('idle_session_timeout', '7s');
    expect(await appQuery(server, 'SHOW idle_session_timeout')).toEqual([{ idle_session_timeout: '7s' }]);
    await expect(server.setConfig('x; DROP', 1)).rejects.toThrow(/not a setting name/);
  });

  it('terminates application backends: the client sees 57P01', async () => {
    const client = new pg.Client({ connectionString: server.url });
    const errors: Error[] = [];
    client.on('error', (e) => errors.push(e));
    await client.connect();
    expect(await server.connectionCount()).toBeGreaterThanOrEqual(1);
    expect(await server.terminateBackends()).toBeGreaterThanOrEqual(1);
    await expect(client.query('SELECT 1')).rejects.toThrow();
    await client.end().catch(() => {});
    expect(errors.map((e) => (e as { code?: string }).code)).toContain('57P01');
  });

  it('restarts, crashes and recovers on the same port with the same data', async () => {
    await appQuery(server, 'CREATE TABLE IF NOT EXISTS kept (v int)');
    await appQuery(server, 'INSERT INTO kept VALUES (42)');
    const firstPid = server.pid;
    await server.restart();
    expect(server.pid).not.toBe(firstPid);
    expect(await appQuery(server, 'SELECT v FROM kept')).toEqual([{ v: 42 }]);

    const pid = server.pid as number;
    await server.kill();
    expect(server.pid).toBeUndefined();
    expect(() => process.kill(pid, 0)).toThrow();
    await expect(appQuery(server, 'SELECT 1')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await server.start();
    expect(await appQuery(server, 'SELECT count(*)::int AS n FROM kept')).toEqual([{ n: 1 }]);
  });

  it('pauses: connections stay open but nothing answers until resumed', async () => {
    const client = new pg.Client({ connectionString: server.url, query_timeout: 500 });
    client.on('error', () => {});
    await client.connect();
    server.pause();
    try {
      await expect(client.query('SELECT 1')).rejects.toThrow(/timeout/i);
    } finally {
      server.resume();
    }
    await client.end().catch(() => {});
    expect(await appQuery(server, 'SELECT 1 AS ok')).toEqual([{ ok: 1 }]);
  });
});

describe('EphemeralPostgres with tls: true', () => {
  let server: EphemeralPostgres;
  beforeAll(async () => {
    server = await EphemeralPostgres.start({ tls: true });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('serves TLS verified against its throwaway CA and logs the certificate role in by its client certificate', async () => {
    const tls = server.tls;
    if (!tls) throw new Error('tls: true left server.tls unset');
    const ca = readFileSync(tls.caFile, 'utf8');
    const client = new pg.Client({
      host: '127.0.0.1',
      port: server.port,
      user: tls.certUser,
      database: server.database,
      ssl: {
        ca,
        cert: readFileSync(tls.clientCertFile),
        key: readFileSync(tls.clientKeyFile),
        servername: 'localhost',
      },
    });
    client.on('error', () => {});
    await client.connect();
    try {
      const { rows } = await client.query(
        'SELECT current_user AS who, ssl, client_dn FROM pg_stat_ssl WHERE pid = pg_backend_pid()',
      );
      expect(rows).toEqual([{ who: tls.certUser, ssl: true, client_dn: `/CN=${tls.certUser}` }]);
    } finally {
      await client.end().catch(() => {});
    }
    // Without the certificate the role is refused; password logins keep working, over TLS too.
    const noCert = new pg.Client({
      host: '127.0.0.1',
      port: server.port,
      user: tls.certUser,
      database: server.database,
      ssl: { ca },
    });
    noCert.on('error', () => {});
    await expect(noCert.connect()).rejects.toMatchObject({ code: '28000' });
    const app = new pg.Client({ connectionString: server.url, ssl: { ca } });
    app.on('error', () => {});
    await app.connect();
    try {
      expect((await app.query('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()')).rows).toEqual([
        { ssl: true },
      ]);
    } finally {
      await app.end().catch(() => {});
    }
    expect(server.certUrl).toContain('sslmode=verify-full');
  });

  it('leaves servers started without it plaintext only', async () => {
    const plain = await EphemeralPostgres.start();
    try {
      expect(plain.tls).toBeUndefined();
      expect(await plain.sql('SHOW ssl')).toEqual([{ ssl: 'off' }]);
    } finally {
      await plain.close();
    }
  });
});
