export {
  migrate,
  migrationsDir,
  migrationsTable,
  pendingMigrations,
  type MigrateOptions,
  type MigrationResult,
} from './migrate.ts';
