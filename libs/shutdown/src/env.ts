import { InvalidOptionError } from './errors.ts';
import type { LifecycleOptions } from './options.ts';

function integerVariable(env: NodeJS.ProcessEnv, name: string, max: number): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  const value = raw.trim();
  if (!/^\d+$/.test(value) || Number(value) > max) {
    throw new InvalidOptionError(name, `must be an integer between 0 and ${max}, got ${JSON.stringify(raw)}`);
  }
  return Number(value);
}

/**
 * Reads the lifecycle's environment variables (ARCHITECTURE.md, "Runtime configuration"):
 * `SHUTDOWN_DRAIN_DELAY_MS`, `SHUTDOWN_TIMEOUT_MS` (milliseconds) and `ADMIN_PORT`. Unset or empty
 * variables are left out so the lib's defaults apply; a bad value throws `InvalidOptionError` naming
 * the variable. Spread the result into `createLifecycle({ ...lifecycleOptionsFromEnv(), logger })`.
 */
export function lifecycleOptionsFromEnv(
  env: NodeJS.ProcessEnv = process.env,
): Pick<LifecycleOptions, 'drainDelayMs' | 'shutdownTimeoutMs' | 'adminPort'> {
  const options: Pick<LifecycleOptions, 'drainDelayMs' | 'shutdownTimeoutMs' | 'adminPort'> = {};
  const drainDelayMs = integerVariable(env, 'SHUTDOWN_DRAIN_DELAY_MS', 3_600_000);
  const shutdownTimeoutMs = integerVariable(env, 'SHUTDOWN_TIMEOUT_MS', 3_600_000);
  const adminPort = integerVariable(env, 'ADMIN_PORT', 65_535);
  if (shutdownTimeoutMs === 0)
    throw new InvalidOptionError('SHUTDOWN_TIMEOUT_MS', 'must be at least 1 ms, got "0"');
  if (drainDelayMs !== undefined) options.drainDelayMs = drainDelayMs;
  if (shutdownTimeoutMs !== undefined) options.shutdownTimeoutMs = shutdownTimeoutMs;
  if (adminPort !== undefined) options.adminPort = adminPort;
  return options;
}
