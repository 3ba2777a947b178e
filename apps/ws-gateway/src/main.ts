/**
 * apps/ws-gateway entry point: clients follow their jobs' events live over WebSocket
 * (docs/architecture.md, "WebSocket gateway"). Postgres is the record (history, ownership), one
 * Redis Stream read loop feeds live events, @tether/shutdown drains the sockets with 1012.
 */
import { createTokenVerifier } from '@tether/auth';
import { loadRuntimeConfig, pgPoolSettings, redisSettings } from '@tether/config';
import { createPgPool, createRedis } from '@tether/pooling';
import { applyHttpServerDefaults, createLifecycle, lifecycleOptionsFromEnv } from '@tether/shutdown';
import { createLogger, startTelemetry } from '@tether/telemetry';

const config = loadRuntimeConfig(process.env, { require: ['PORT', 'AUTH'] });
const lifecycle = createLifecycle(lifecycleOptionsFromEnv());
const telemetry = startTelemetry({ serviceName: 'tether-ws-gateway', lifecycle });
lifecycle.setMetricsHandler(telemetry.metricsHandler);
// Loaded after the SDK so the http instrumentation sees it (see @tether/telemetry, "Start-up").
const { createServer } = await import('node:http');
const { createGateway, STREAM_PATH } = await import('./gateway.ts');
const { gatewayOptionsFromEnv } = await import('./options.ts');

const logger = createLogger({ level: config.LOG_LEVEL });
const db = createPgPool({
  connectionString: config.DATABASE_URL,
  applicationName: 'tether-ws-gateway',
  ...pgPoolSettings(config),
  logger,
});
// Blocking XREADs need the worker profile: no per-command timeout cuts a 5 s BLOCK.
const redis = createRedis({
  url: config.REDIS_URL,
  ...redisSettings(config),
  profile: 'worker',
  name: 'redis-stream',
  logger,
});
const gateway = createGateway({
  db,
  redis,
  verify: createTokenVerifier({ secret: config.AUTH_JWT_SECRET, jwksUrl: config.AUTH_JWKS_URL }),
  options: gatewayOptionsFromEnv(process.env),
  accepting: () => !lifecycle.isShuttingDown,
  log: (level, message, fields) => logger[level](fields ?? {}, message),
});

// Shared dependencies are reported, never fatal to readiness (docs/architecture.md): with Redis down
// the gateway serves events from Postgres; with Postgres down subscribes are told to retry.
lifecycle.addReadinessCheck('postgres', (signal) => db.ping({ signal }));
lifecycle.addReadinessCheck('eventStream', () => {
  if (!gateway.streamHealthy) throw new Error('Redis stream unreadable: serving events from Postgres');
});
// Hooks run in reverse order: the stream reader stops before the pool it reads history with drains.
lifecycle.addShutdownHook('postgres', () => db.drain(1_000), { timeoutMs: 1_500 });
lifecycle.addShutdownHook('stream', () => gateway.close(), { timeoutMs: 1_500 });

const server = lifecycle.trackHttpServer(
  applyHttpServerDefaults(
    createServer((req, res) => {
      res.writeHead(req.url?.startsWith(STREAM_PATH) ? 426 : 404, {
        'content-type': 'application/problem+json',
      });
      res.end(JSON.stringify({ type: 'about:blank', title: 'WebSocket upgrade required', status: 426 }));
    }),
  ),
);
lifecycle.trackWebSocketServer(gateway.wss);
gateway.attach(server);
await new Promise<void>((resolve) => server.listen(config.PORT, resolve));
await lifecycle.listenAdmin();
lifecycle.startupComplete();
logger.info({ port: config.PORT, path: STREAM_PATH }, 'ws-gateway listening');
