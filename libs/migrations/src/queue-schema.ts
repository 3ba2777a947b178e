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
  // Loaded here, not at the top: apps import this package for pendingMigrations() at start-up and
  // should not pay for loading graphile-worker.
  const { Logger, runMigrations } = await import('graphile-worker');
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

/** What start-up needs to know about the schema, read on one bounded connection. */
export async function readSchemaState(
  databaseUrl: string,
): Promise<{ applied: string[]; queueInstalled: boolean }> {
  // Called from apps' start-up: bounded, so an unreachable database cannot stall it.
  const client = new pg.Client({
    connectionString: databaseUrl,
    connectionTimeoutMillis: 5_000,
    query_timeout: 5_000,
  });
  client.on('error', () => {});
  await client.connect();
  try {
    const { rows } = await client.query<{ has_table: boolean; queue_installed: boolean }>(
      `SELECT to_regclass('tether_migrations') IS NOT NULL AS has_table,
              to_regproc('graphile_worker.add_job') IS NOT NULL AS queue_installed`,
    );
    // A second statement only when the table exists: a reference to a missing table fails at parse time.
    const applied = rows[0]!.has_table
      ? (await client.query<{ name: string }>('SELECT name FROM tether_migrations')).rows.map((r) => r.name)
      : [];
    return { applied, queueInstalled: rows[0]!.queue_installed };
  } finally {
    await client.end();
  }
}
