import { z } from 'zod';
import { ConfigError } from './errors.ts';

const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const port = z.coerce.number().int().min(0).max(65_535);

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
  })
  .refine((env) => !(env.AUTH_JWT_SECRET && env.AUTH_JWKS_URL), {
    message: 'and AUTH_JWKS_URL are both set; set exactly one',
    path: ['AUTH_JWT_SECRET'],
  });

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
  const parsed = schema.safeParse(emptyToUndefined(env));
  const problems: { variable: string; problem: string }[] = [];
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const variable = String(issue.path[0] ?? 'environment');
      problems.push({
        variable,
        problem: issue.code === 'invalid_type' && issue.input === undefined ? 'is required' : issue.message,
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
