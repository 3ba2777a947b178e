import { Logger, runMigrations } from 'graphile-worker';
import pg from 'pg';

/** Postgres advisory lock key held while graphile-worker's schema is installed (any stable bigint). */
const QUEUE_SCHEMA_LOCK = 7_341_190_011;

/**
 * Installs or upgrades graphile-worker's own schema (`graphile_worker.*`, including `add_job`, which
 * the API calls inside its enqueue transaction) with graphile-worker's own migrations. Its migrator
 * copes with a concurrent peer on its own only by retrying after a clash; holding a session advisory
 * lock around it makes concurrent `tether-migrate` runs simply take turns.
 */
export async function migrateQueueSchema(databaseUrl: string, log: (line: string) => void): Promise<void> {
  const lockClient = new pg.Client({ connectionString: databaseUrl });
  lockClient.on('error', () => {}); // a lost lock session surfaces as the query error below
  await lockClient.connect();
  try {
    await lockClient.query('SELECT pg_advisory_lock($1)', [QUEUE_SCHEMA_LOCK]);
    await runMigrations({
      connectionString: databaseUrl,
      maxPoolSize: 1,
      logger: new Logger(() => (level, message) => {
        if (level !== 'debug') log(`graphile-worker: ${message}`);
      }),
    });
  } finally {
    await lockClient.end();
  }
}

/** True when graphile-worker's schema is installed (its `add_job` exists). */
export async function queueSchemaInstalled(databaseUrl: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: databaseUrl });
  client.on('error', () => {});
  await client.connect();
  try {
    const { rows } = await client.query<{ installed: boolean }>(
      "SELECT to_regproc('graphile_worker.add_job') IS NOT NULL AS installed",
    );
    return rows[0]!.installed;
  } finally {
    await client.end();
  }
}
