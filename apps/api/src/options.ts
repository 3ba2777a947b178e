import type { AuthOptions } from './auth.ts';

export interface ApiEnvOptions {
  dbDeadlineMs: number;
  dbPoolMax: number;
  idempotencyTtlMs: number;
  bodyLimit: string;
  auth: Pick<AuthOptions, 'issuer' | 'audience' | 'clockToleranceS'>;
}

/**
 * The API's own settings (the shared ones are @tether/config's), each optional with its default:
 *
 * | variable                     | default | meaning                                                       |
 * | ---------------------------- | ------- | ------------------------------------------------------------- |
 * | `API_DB_DEADLINE_MS`         | 3000    | a request's database work, retries included, then 503         |
 * | `API_DB_POOL_MAX`            | 10      | Postgres connections of this pod                              |
 * | `API_IDEMPOTENCY_TTL_S`      | 86400   | how long an Idempotency-Key identifies its job                |
 * | `API_BODY_LIMIT_BYTES`       | 65536   | larger bodies answer 413                                      |
 * | `AUTH_JWT_ISSUER` / `AUTH_JWT_AUDIENCE` | unset | required `iss` / `aud` when set                        |
 * | `AUTH_CLOCK_TOLERANCE_S`     | 5       | allowed clock skew for `exp` / `nbf`                          |
 */
export function apiOptionsFromEnv(env: NodeJS.ProcessEnv): ApiEnvOptions {
  const issuer = env.AUTH_JWT_ISSUER || undefined;
  const audience = env.AUTH_JWT_AUDIENCE || undefined;
  return {
    dbDeadlineMs: integer(env, 'API_DB_DEADLINE_MS', 3_000, 100, 60_000),
    dbPoolMax: integer(env, 'API_DB_POOL_MAX', 10, 1, 1_000),
    idempotencyTtlMs: integer(env, 'API_IDEMPOTENCY_TTL_S', 86_400, 1, 30 * 86_400) * 1000,
    bodyLimit: `${integer(env, 'API_BODY_LIMIT_BYTES', 65_536, 1_024, 10 * 1024 * 1024)}b`,
    auth: {
      clockToleranceS: integer(env, 'AUTH_CLOCK_TOLERANCE_S', 5, 0, 300),
      ...(issuer ? { issuer } : {}),
      ...(audience ? { audience } : {}),
    },
  };
}

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${name} must be an integer from ${min} to ${max}, got "${raw.slice(0, 40)}"`);
  }
  return value;
}
