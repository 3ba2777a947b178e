import { readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { migrateQueueSchema, readSchemaState } from './queue-schema.ts';

/** The SQL migrations shipped with this package (also in the npm tarball). */
export const migrationsDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'migrations');

/** node-pg-migrate's bookkeeping table. */
export const migrationsTable = 'tether_migrations';

export interface MigrateOptions {
  /** libpq URL of the database to migrate. */
  databaseUrl: string;
  /** `up` applies pending migrations (default); `down` reverts `count` of them. */
  direction?: 'up' | 'down';
  /** How many migrations to apply or revert (default: all for up, 1 for down). */
  count?: number;
  /** Receives progress lines (default: none). Never receives the URL. */
  log?: (line: string) => void;
}

export interface MigrationResult {
  /** Names of the migrations run by this call (empty when the schema was current). */
  applied: string[];
}

/** The name `pendingMigrations` reports while graphile-worker's schema is missing. */
export const QUEUE_SCHEMA = 'graphile-worker';

/**
 * Applies the Tether schema, then (direction `up` only) graphile-worker's queue schema.
 * node-pg-migrate takes a Postgres advisory lock, so many pods (or a Helm hook Job and an app)
 * starting at once apply each migration exactly once, each in its own transaction; the queue
 * schema is installed under a lock of its own. `down` never drops the queue schema (it may hold
 * other applications' jobs).
 */
export async function migrate(options: MigrateOptions): Promise<MigrationResult> {
  const direction = options.direction ?? 'up';
  const log = options.log ?? (() => {});
  // Loaded on use: apps import this package only for pendingMigrations() at start-up.
  const { runner } = await import('node-pg-migrate');
  const ran = await runner({
    databaseUrl: options.databaseUrl,
    dir: migrationsDir,
    migrationsTable,
    direction,
    count: options.count ?? (direction === 'up' ? Infinity : 1),
    checkOrder: true,
    // Wait for a concurrent migrator instead of failing: the second pod then finds nothing to do.
    advisoryLockMode: 'wait',
    verbose: false,
    log: (message: string) => log(message),
    logger: {
      debug: () => {},
      info: (m: string) => log(m),
      warn: (m: string) => log(m),
      error: (m: string) => log(m),
    },
  });
  if (direction === 'up') await migrateQueueSchema(options.databaseUrl, log);
  return { applied: ran.map((m) => m.name) };
}

/**
 * Names of migrations shipped here that the database has not applied, plus `graphile-worker` while
 * the queue schema is missing: empty means the schema is current. Apps call this at start-up instead
 * of migrating themselves, so it reads two catalog facts on one bounded connection (no migration tooling loaded).
 */
export async function pendingMigrations(databaseUrl: string): Promise<string[]> {
  const shipped = (await readdir(migrationsDir))
    .filter((file) => file.endsWith('.sql'))
    .map((file) => file.slice(0, -'.sql'.length))
    .sort();
  const { applied, queueInstalled } = await readSchemaState(databaseUrl);
  const done = new Set(applied);
  const pending = shipped.filter((name) => !done.has(name));
  return queueInstalled ? pending : [...pending, QUEUE_SCHEMA];
}
