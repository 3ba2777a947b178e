/**
 * apps/worker entry point. Placeholder until the worker lands: validated configuration, admin
 * probes and metrics, traces, no job processing, graceful shutdown.
 */
import { loadRuntimeConfig } from '@tether/config';
import { createLifecycle, lifecycleOptionsFromEnv } from '@tether/shutdown';
import { startTelemetry } from '@tether/telemetry';

loadRuntimeConfig(process.env);
const lifecycle = createLifecycle(lifecycleOptionsFromEnv());
const telemetry = startTelemetry({ serviceName: 'tether-worker', lifecycle });
lifecycle.setMetricsHandler(telemetry.metricsHandler);
await lifecycle.listenAdmin();
lifecycle.startupComplete();
console.log(JSON.stringify({ level: 30, msg: 'worker started (placeholder: takes no jobs yet)' }));
