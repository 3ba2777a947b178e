/**
 * apps/worker entry point. Placeholder until the worker lands: validated configuration, admin
 * probes, no job processing, graceful shutdown.
 */
import { loadRuntimeConfig } from '@tether/config';
import { createLifecycle, lifecycleOptionsFromEnv } from '@tether/shutdown';

loadRuntimeConfig(process.env);
const lifecycle = createLifecycle(lifecycleOptionsFromEnv());
await lifecycle.listenAdmin();
lifecycle.startupComplete();
console.log(JSON.stringify({ level: 30, msg: 'worker started (placeholder: takes no jobs yet)' }));
