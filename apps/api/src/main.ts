/**
 * apps/api entry point. Placeholder until the jobs API lands: it loads and validates the runtime
 * configuration, serves the admin probes, answers every public route with 501 problem+json, and
 * shuts down through @tether/shutdown.
 */
import { loadRuntimeConfig } from '@tether/config';
import { applyHttpServerDefaults, createLifecycle, lifecycleOptionsFromEnv } from '@tether/shutdown';
import { startTelemetry } from '@tether/telemetry';

const config = loadRuntimeConfig(process.env, { require: ['PORT', 'AUTH'] });
const lifecycle = createLifecycle(lifecycleOptionsFromEnv());
const telemetry = startTelemetry({ serviceName: 'tether-api', lifecycle });
lifecycle.setMetricsHandler(telemetry.metricsHandler);
// Loaded after the SDK so the http instrumentation sees it (see @tether/telemetry, "Start-up").
const { createServer } = await import('node:http');

const server = lifecycle.trackHttpServer(
  applyHttpServerDefaults(
    createServer((_req, res) => {
      res.writeHead(501, { 'content-type': 'application/problem+json' });
      res.end(
        JSON.stringify({
          type: 'about:blank',
          title: 'Not Implemented',
          status: 501,
          detail: 'the jobs API is not built yet',
        }),
      );
    }),
  ),
);
await new Promise<void>((resolve) => server.listen(config.PORT, resolve));
await lifecycle.listenAdmin();
lifecycle.startupComplete();
console.log(JSON.stringify({ level: 30, msg: 'api listening', port: config.PORT }));
