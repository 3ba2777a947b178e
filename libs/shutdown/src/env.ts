import { integerFromEnv } from '@tether/errors';
import type { LifecycleOptions } from './options.ts';

/** The variable's integer, or undefined when it is unset or blank (the lib's default applies). */
function integerVariable(env: NodeJS.ProcessEnv, name: string, min: number, max: number): number | undefined {
  const value = integerFromEnv(env, name, Number.NaN, { min, max });
  return Number.isNaN(value) ? undefined : value;
}

/**
 * Reads the lifecycle's environment variables (ARCHITECTURE.md, "Runtime configuration"):
 * `SHUTDOWN_DRAIN_DELAY_MS`, `SHUTDOWN_TIMEOUT_MS` (milliseconds) and `ADMIN_PORT`. Unset or empty
 * variables are left out so the lib's defaults apply; a bad value throws `TetherInvalidOptionError` naming
 * the variable. Spread the result into `createLifecycle({ ...lifecycleOptionsFromEnv(), logger })`.
 */
export function lifecycleOptionsFromEnv(
  env: NodeJS.ProcessEnv = process.env,
): Pick<LifecycleOptions, 'drainDelayMs' | 'shutdownTimeoutMs' | 'adminPort'> {
  const options: Pick<LifecycleOptions, 'drainDelayMs' | 'shutdownTimeoutMs' | 'adminPort'> = {};
  const drainDelayMs = integerVariable(env, 'SHUTDOWN_DRAIN_DELAY_MS', 0, 3_600_000);
  const shutdownTimeoutMs = integerVariable(env, 'SHUTDOWN_TIMEOUT_MS', 1, 3_600_000);
  const adminPort = integerVariable(env, 'ADMIN_PORT', 0, 65_535);
  if (drainDelayMs !== undefined) options.drainDelayMs = drainDelayMs;
  if (shutdownTimeoutMs !== undefined) options.shutdownTimeoutMs = shutdownTimeoutMs;
  if (adminPort !== undefined) options.adminPort = adminPort;
  return options;
}
