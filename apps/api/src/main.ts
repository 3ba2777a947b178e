/**
 * apps/api entry point: validated configuration, telemetry, the @tether/pooling Postgres pool, JWT
 * auth, the jobs routes, admin probes, and shutdown through @tether/shutdown.
 */
import { loadRuntimeConfig, pgPoolSettings } from '@tether/config';
import { pendingMigrations } from '@tether/migrations';
import { createPgPool } from '@tether/pooling';
import { applyHttpServerDefaults, createLifecycle, lifecycleOptionsFromEnv } from '@tether/shutdown';
import { createLogger, startTelemetry } from '@tether/telemetry';
import { apiOptionsFromEnv } from './options.ts';

/** Start-up never waits longer than this for the schema check (an unreachable database must not block readiness). */
const SCHEMA_CHECK_TIMEOUT_MS = 5_000;

const config = loadRuntimeConfig(process.env, { require: ['PORT', 'AUTH'] });
const options = apiOptionsFromEnv(process.env);
const lifecycle = createLifecycle(lifecycleOptionsFromEnv());
const telemetry = startTelemetry({ serviceName: 'tether-api', lifecycle });
lifecycle.setMetricsHandler(telemetry.metricsHandler);
const logger = createLogger({ level: config.LOG_LEVEL });
// Loaded after the SDK so the http and express instrumentations see them (see @tether/telemetry, "Start-up").
const { createServer } = await import('node:http');
const { createApi } = await import('./app.ts');
const { createAuthenticator } = await import('./auth.ts');

const db = createPgPool({
  connectionString: config.DATABASE_URL,
  applicationName: 'tether-api',
  max: options.dbPoolMax,
  // PG_POOL_MAX and the other PG_* connection settings (the chart sets them) win over API_DB_POOL_MAX.
  ...pgPoolSettings(config),
  logger,
});
// Registered first, so it runs after the HTTP server has drained.
lifecycle.addShutdownHook('postgres', () => db.drain(2_000), { timeoutMs: 2_500 });
// Shared by every replica: reported in /readyz, never fails it (a database blip must not empty the Service).
lifecycle.addReadinessCheck('postgres', (signal) => db.ping({ signal }));

const authenticate = createAuthenticator({
  ...(config.AUTH_JWT_SECRET ? { secret: config.AUTH_JWT_SECRET } : {}),
  ...(config.AUTH_JWKS_URL ? { jwksUrl: config.AUTH_JWKS_URL } : {}),
  ...options.auth,
});
const app = createApi({
  db,
  authenticate,
  dbDeadlineMs: options.dbDeadlineMs,
  idempotencyTtlMs: options.idempotencyTtlMs,
  bodyLimit: options.bodyLimit,
  onInternalError: (error, req) =>
    logger.error({ err: error, method: req.method, path: req.path }, 'request failed'),
});
const server = lifecycle.trackHttpServer(applyHttpServerDefaults(createServer(app)));
await new Promise<void>((resolve) => server.listen(config.PORT, resolve));
await lifecycle.listenAdmin();

// Migrations are tether-migrate's job (npm start, the chart's hook Job), never the API's. Start-up
// only checks: a missing schema is logged, and requests answer 503 until it appears.
const pending = await Promise.race([
  pendingMigrations(config.DATABASE_URL),
  new Promise<never>((_, reject) =>
    setTimeout(
      () => reject(new Error(`no answer within ${SCHEMA_CHECK_TIMEOUT_MS} ms`)),
      SCHEMA_CHECK_TIMEOUT_MS,
    ).unref(),
  ),
]).catch((error: unknown) => {
  // The database may be down at start-up; requests then answer 503 until it is back.
  logger.warn({ err: error }, 'could not check the schema at start-up');
  return [];
});
if (pending.length)
  logger.warn({ pending }, 'schema not current: run tether-migrate; job routes answer 503 until then');
lifecycle.startupComplete();
logger.info({ port: config.PORT }, 'api listening');
