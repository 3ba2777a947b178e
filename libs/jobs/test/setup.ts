import { EphemeralPostgres } from '@tether/devstack';
import { migrate } from '@tether/migrations';
import pg from 'pg';

/** A fresh Postgres with the Tether schema and graphile-worker's, and a pg pool on it. */
export async function startDatabase(): Promise<{
  server: EphemeralPostgres;
  pool: pg.Pool;
  close(): Promise<void>;
}> {
  const server = await EphemeralPostgres.start();
  await migrate({ databaseUrl: server.url });
  const pool = new pg.Pool({ connectionString: server.url, max: 30 });
  pool.on('error', () => {});
  return {
    server,
    pool,
    async close() {
      await pool.end();
      await server.close();
    },
  };
}

/** `fn` inside BEGIN … COMMIT on one client of `pool` (ROLLBACK if it throws). */
export async function inTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}
