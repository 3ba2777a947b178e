import { z } from 'zod';
import { ConfigError } from './errors.ts';

const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const port = z.coerce.number().int().min(0).max(65_535);

/** A whole number of milliseconds (or connections) in [min, max]; the message names the bound, never the value. */
function integer(min: number, max: number) {
  return z.coerce
    .number({ message: 'must be a whole number' })
    .int('must be a whole number')
    .min(min, `must be >= ${min}`)
    .max(max, `must be <= ${max}`);
}

const DAY_MS = 86_400_000;

/** Which URL schemes each connection variable accepts. */
function url(schemes: string[]) {
  return z.string().refine(
    (value) => {
      try {
        return schemes.includes(new URL(value).protocol.replace(/:$/, ''));
      } catch {
        return false;
      }
    },
    { message: `must be a URL with scheme ${schemes.join(' or ')}` },
  );
}

/**
 * Every app's environment (docs/architecture.md, "Runtime configuration"). The lifecycle budget
 * variables (SHUTDOWN_*) are read by @tether/shutdown's `lifecycleOptionsFromEnv`; OTEL_* by the
 * OpenTelemetry SDK.
 */
const schema = z
  .object({
    /** Postgres URL (libpq form; sslmode honoured by @tether/pooling). Required. */
    DATABASE_URL: url(['postgres', 'postgresql']),
    /** redis:// or rediss:// URL. Required. */
    REDIS_URL: url(['redis', 'rediss']),
    /** Public port; apps without a public listener ignore it. */
    PORT: port.optional(),
    /** Probes and metrics; never exposed by the Service. */
    ADMIN_PORT: port.optional(),
    /** HS256 secret for bearer tokens; exactly one of this and AUTH_JWKS_URL. */
    AUTH_JWT_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
    /** JWKS endpoint for bearer tokens (RS256/ES256). */
    AUTH_JWKS_URL: url(['https', 'http']).optional(),
    /** pino level. Default info. */
    LOG_LEVEL: z.enum(logLevels).default('info'),
    // Connection settings (see pool-settings.ts). Unset = @tether/pooling's own default; ranges match its checks.
    /** Most Postgres connections per process (pooling `max`, default 10). */
    PG_POOL_MAX: integer(1, 1_000).optional(),
    /** Idle time before the first TCP keepalive probe on Postgres sockets, ms (default 10000). */
    PG_KEEPALIVE_MS: integer(1, DAY_MS).optional(),
    /** An idle Postgres connection is closed after this long, ms; 0 = never (default 60000). */
    PG_IDLE_TIMEOUT_MS: integer(0, DAY_MS).optional(),
    /** Postgres connections are recycled after at most this long, ms; 0 = never (default 1800000). */
    PG_MAX_LIFETIME_MS: integer(0, DAY_MS).optional(),
    /** Random amount taken off each connection's lifetime, ms (default 10 % of it, at most 180000). */
    PG_MAX_LIFETIME_JITTER_MS: integer(0, DAY_MS).optional(),
    /** Server-side statement_timeout, ms; 0 = none (default 10000). */
    PG_STATEMENT_TIMEOUT_MS: integer(0, DAY_MS).optional(),
    /** Idle time before the first TCP keepalive probe on Redis sockets, ms (default 10000). */
    REDIS_KEEPALIVE_MS: integer(1, DAY_MS).optional(),
  })
  .refine((env) => !(env.AUTH_JWT_SECRET && env.AUTH_JWKS_URL), {
    message: 'and AUTH_JWKS_URL are both set; set exactly one',
    path: ['AUTH_JWT_SECRET'],
  })
  // @tether/pooling checks the same at createPgPool; checked here too so a bad Deployment fails with the variable names.
  .refine(
    (env) =>
      env.PG_MAX_LIFETIME_JITTER_MS === undefined ||
      env.PG_MAX_LIFETIME_JITTER_MS <= (env.PG_MAX_LIFETIME_MS ?? 1_800_000),
    {
      message: 'must be <= PG_MAX_LIFETIME_MS (default 1800000)',
      path: ['PG_MAX_LIFETIME_JITTER_MS'],
    },
  );

export type RuntimeConfig = z.infer<typeof schema>;

export interface LoadOptions {
  /** Variables this app cannot run without beyond DATABASE_URL/REDIS_URL (e.g. PORT, auth). */
  require?: ('PORT' | 'ADMIN_PORT' | 'AUTH')[];
}

function emptyToUndefined(env: NodeJS.ProcessEnv): Record<string, string | undefined> {
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v === '' ? undefined : v]));
}

/**
 * Reads and validates the environment; throws one `ConfigError` listing every bad variable.
 * Messages describe what is wrong ("must be a URL with scheme redis or rediss"), never the value.
 */
export function loadRuntimeConfig(
  env: NodeJS.ProcessEnv = process.env,
  options: LoadOptions = {},
): RuntimeConfig {
  const cleaned = emptyToUndefined(env);
  const parsed = schema.safeParse(cleaned);
  const problems: { variable: string; problem: string }[] = [];
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const variable = String(issue.path[0] ?? 'environment');
      problems.push({
        variable,
        // zod does not report the input, so "required" is decided from the environment itself.
        problem:
          issue.code === 'invalid_type' && cleaned[variable] === undefined ? 'is required' : issue.message,
      });
    }
  }
  const config = parsed.success ? parsed.data : undefined;
  for (const required of options.require ?? []) {
    if (required === 'AUTH') {
      if (!env.AUTH_JWT_SECRET && !env.AUTH_JWKS_URL)
        problems.push({ variable: 'AUTH_JWT_SECRET', problem: 'or AUTH_JWKS_URL is required' });
    } else if (!env[required]) {
      problems.push({ variable: required, problem: 'is required' });
    }
  }
  if (problems.length > 0 || !config) throw new ConfigError(problems);
  return config;
}
