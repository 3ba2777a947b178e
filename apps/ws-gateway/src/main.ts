/**
 * apps/ws-gateway entry point. Placeholder until the gateway lands: validated configuration, admin
 * probes and metrics, traces, 501 problem+json on the public port (no upgrades yet), graceful shutdown.
 */
import { loadRuntimeConfig } from '@tether/config';
import { applyHttpServerDefaults, createLifecycle, lifecycleOptionsFromEnv } from '@tether/shutdown';
import { startTelemetry } from '@tether/telemetry';

const config = loadRuntimeConfig(process.env, { require: ['PORT', 'AUTH'] });
const lifecycle = createLifecycle(lifecycleOptionsFromEnv());
const telemetry = startTelemetry({ serviceName: 'tether-ws-gateway', lifecycle });
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
          detail: 'the WebSocket gateway is not built yet',
        }),
      );
    }),
  ),
);
server.on('upgrade', (_req, socket) => {
  socket.end('HTTP/1.1 501 Not Implemented\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
});
await new Promise<void>((resolve) => server.listen(config.PORT, resolve));
await lifecycle.listenAdmin();
lifecycle.startupComplete();
console.log(JSON.stringify({ level: 30, msg: 'ws-gateway listening', port: config.PORT }));
