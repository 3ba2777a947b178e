/**
 * static's configuration: which rules run and their settings. Read from a YAML or JSON file
 * (`--config`); every key is validated up front and an unknown one is refused, naming it.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

/** Every rule, in the order the report lists them. */
export const ruleIds = [
  'probes-present',
  'probe-port',
  'probes-distinct',
  'liveness-no-dependencies',
  'prestop-present',
  'grace-budget',
  'readiness-window',
  'pdb-coverage',
  'pdb-allows-eviction',
  'rollout-max-unavailable',
  'resources',
  'security-context',
  'image-policy',
] as const;
export type RuleId = (typeof ruleIds)[number];

/** `chart-verify.tether.dev/waive-<rule-id>: "<reason>"` on an object waives that rule's failure there. */
export const waiverPrefix = 'chart-verify.tether.dev/waive-';
/** A waiver's reason must be at least this long: "ok" explains nothing. */
export const minimumReasonLength = 10;

/** An environment variable holding a duration, and its unit. */
export interface DurationEnv {
  name: string;
  unit: 'ms' | 's';
}

export interface StaticConfig {
  /** Rules that run (all but `image-policy` by default). */
  enabled: Record<RuleId, boolean>;
  /** Seconds the grace period must leave after preStop + drain delay + shutdown timeout (default 5). */
  marginSeconds: number;
  /** Where the app reads its shutdown timeout (default `SHUTDOWN_TIMEOUT_MS`, ms); the first one set counts. */
  shutdownTimeoutEnv: DurationEnv[];
  /** Where the app reads its own drain delay (default `SHUTDOWN_DRAIN_DELAY_MS`, ms). */
  drainDelayEnv: DurationEnv[];
  /** An in-app drain delay > 0 stands in for a preStop sleep (default true). */
  acceptAppDrainDelay: boolean;
  /** A liveness path matching this checks dependencies (case-insensitive regular expression). */
  dependencyPathPattern: string;
  /** resources: limits.cpu required too (default false: a CPU limit throttles, a request suffices). */
  requireCpuLimit: boolean;
  /** image-policy: a digest is required, a tag alone is not enough (default false). */
  requireDigest: boolean;
}

export const defaultDependencyPathPattern =
  '(^|/)(readyz?|readiness|ready-?check|health/(ready|deps?|dependencies|db|database)|deps?|dependencies|db|database|redis|postgres|upstreams?)(/|$|\\?)';

export function defaultConfig(): StaticConfig {
  return {
    enabled: Object.fromEntries(ruleIds.map((id) => [id, id !== 'image-policy'])) as Record<RuleId, boolean>,
    marginSeconds: 5,
    shutdownTimeoutEnv: [{ name: 'SHUTDOWN_TIMEOUT_MS', unit: 'ms' }],
    drainDelayEnv: [{ name: 'SHUTDOWN_DRAIN_DELAY_MS', unit: 'ms' }],
    acceptAppDrainDelay: true,
    dependencyPathPattern: defaultDependencyPathPattern,
    requireCpuLimit: false,
    requireDigest: false,
  };
}

/** A bad configuration file or option: the message names the key and what is wrong. */
export class ConfigError extends Error {
  readonly code = 'TETHER_CHART_VERIFY_CONFIG';
}

const topLevelKeys = [
  'rules',
  'marginSeconds',
  'shutdownTimeoutEnv',
  'drainDelayEnv',
  'acceptAppDrainDelay',
  'dependencyPathPattern',
  'requireCpuLimit',
  'requireDigest',
];

/** Reads and validates a config file (YAML or JSON), over the defaults. */
export function loadConfig(path: string | undefined): StaticConfig {
  if (path === undefined) return defaultConfig();
  let raw: unknown;
  try {
    raw = parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new ConfigError(`--config ${path}: ${(error as Error).message.split('\n')[0]}`, { cause: error });
  }
  return parseConfig(raw ?? {}, path);
}

/** Validates a config object, over the defaults. */
export function parseConfig(raw: unknown, source = 'config'): StaticConfig {
  const config = defaultConfig();
  if (!isRecord(raw)) throw new ConfigError(`${source}: must be a mapping`);
  for (const key of Object.keys(raw))
    if (!topLevelKeys.includes(key))
      throw new ConfigError(`${source}: unknown key "${key}" (known: ${topLevelKeys.join(', ')})`);
  const rules = raw['rules'] ?? {};
  if (!isRecord(rules)) throw new ConfigError(`${source}: rules must be a mapping of rule id to true/false`);
  for (const [id, on] of Object.entries(rules)) {
    if (!(ruleIds as readonly string[]).includes(id))
      throw new ConfigError(`${source}: rules.${id} is not a rule (rules: ${ruleIds.join(', ')})`);
    if (typeof on !== 'boolean') throw new ConfigError(`${source}: rules.${id} must be true or false`);
    config.enabled[id as RuleId] = on;
  }
  if (raw['marginSeconds'] !== undefined) {
    const margin = raw['marginSeconds'];
    if (typeof margin !== 'number' || !(margin >= 0))
      throw new ConfigError(`${source}: marginSeconds must be a number >= 0`);
    config.marginSeconds = margin;
  }
  for (const key of ['shutdownTimeoutEnv', 'drainDelayEnv'] as const)
    if (raw[key] !== undefined) config[key] = durationEnvs(raw[key], `${source}: ${key}`);
  for (const key of ['acceptAppDrainDelay', 'requireCpuLimit', 'requireDigest'] as const) {
    if (raw[key] === undefined) continue;
    if (typeof raw[key] !== 'boolean') throw new ConfigError(`${source}: ${key} must be true or false`);
    config[key] = raw[key];
  }
  if (raw['dependencyPathPattern'] !== undefined) {
    const pattern = raw['dependencyPathPattern'];
    if (typeof pattern !== 'string')
      throw new ConfigError(`${source}: dependencyPathPattern must be a string`);
    try {
      new RegExp(pattern, 'i');
    } catch {
      throw new ConfigError(`${source}: dependencyPathPattern is not a valid regular expression`);
    }
    config.dependencyPathPattern = pattern;
  }
  return config;
}

/** `NAME` (unit from the suffix: `_MS` is ms, else seconds) or `{ name, unit }`. */
function durationEnvs(value: unknown, where: string): DurationEnv[] {
  if (!Array.isArray(value)) throw new ConfigError(`${where} must be a list of variable names`);
  return value.map((item, i) => {
    if (typeof item === 'string' && /^[A-Za-z_][A-Za-z0-9_]*$/.test(item))
      return { name: item, unit: /_MS$/i.test(item) ? 'ms' : 's' };
    if (isRecord(item) && typeof item['name'] === 'string' && (item['unit'] === 'ms' || item['unit'] === 's'))
      return { name: item['name'], unit: item['unit'] };
    throw new ConfigError(`${where}[${i}] must be a variable name or { name, unit: ms|s }`);
  });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
