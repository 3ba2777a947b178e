export {
  migrate,
  migrationsDir,
  migrationsTable,
  pendingMigrations,
  QUEUE_SCHEMA,
  type MigrateOptions,
  type MigrationResult,
} from './migrate.ts';
