import { describe, expect, it } from 'vitest';
import { ConfigError, loadRuntimeConfig, pgPoolSettings, redisSettings } from '../src/index.ts';

const base = { DATABASE_URL: 'postgres://app@db:5432/tether', REDIS_URL: 'redis://cache:6379' };

function problems(env: Record<string, string>): string[] {
  try {
    loadRuntimeConfig({ ...base, ...env });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message.split('; ');
  }
  throw new Error('expected a ConfigError');
}

describe('connection settings', () => {
  it('unset variables give no options, so the pooling defaults (or the app’s) stay in force', () => {
    const config = loadRuntimeConfig({ ...base, PG_POOL_MAX: '', REDIS_KEEPALIVE_MS: '' });
    expect(pgPoolSettings(config)).toEqual({});
    expect(redisSettings(config)).toEqual({});
  });

  it('maps every variable to its pooling option', () => {
    const config = loadRuntimeConfig({
      ...base,
      PG_POOL_MAX: '25',
      PG_KEEPALIVE_MS: '15000',
      PG_IDLE_TIMEOUT_MS: '0',
      PG_MAX_LIFETIME_MS: '600000',
      PG_MAX_LIFETIME_JITTER_MS: '60000',
      PG_STATEMENT_TIMEOUT_MS: '2500',
      REDIS_KEEPALIVE_MS: '20000',
    });
    expect(pgPoolSettings(config)).toEqual({
      max: 25,
      keepAliveInitialDelayMs: 15_000,
      idleTimeoutMs: 0,
      maxLifetimeMs: 600_000,
      maxLifetimeJitterMs: 60_000,
      statementTimeoutMs: 2_500,
    });
    expect(redisSettings(config)).toEqual({ keepAliveMs: 20_000 });
  });

  it('names each bad variable and the rule, never the value', () => {
    const lines = problems({
      PG_POOL_MAX: '0',
      PG_KEEPALIVE_MS: 'ten-seconds',
      PG_IDLE_TIMEOUT_MS: '-1',
      PG_MAX_LIFETIME_MS: '1.5',
      PG_STATEMENT_TIMEOUT_MS: '99999999999',
      REDIS_KEEPALIVE_MS: '0',
    });
    const text = lines.join('\n');
    for (const [variable, rule] of [
      ['PG_POOL_MAX', 'must be >= 1'],
      ['PG_KEEPALIVE_MS', 'must be a whole number'],
      ['PG_IDLE_TIMEOUT_MS', 'must be >= 0'],
      ['PG_MAX_LIFETIME_MS', 'must be a whole number'],
      ['PG_STATEMENT_TIMEOUT_MS', 'must be <= 86400000'],
      ['REDIS_KEEPALIVE_MS', 'must be >= 1'],
    ] as const)
      expect(
        lines.some((line) => line.includes(variable) && line.includes(rule)),
        `${variable}: ${text}`,
      ).toBe(true);
    expect(text).not.toContain('ten-seconds');
    expect(text).not.toContain('99999999999');
  });

  it('refuses a lifetime jitter above the lifetime, the set one or the pooling default', () => {
    expect(problems({ PG_MAX_LIFETIME_MS: '60000', PG_MAX_LIFETIME_JITTER_MS: '60001' }).join('\n')).toMatch(
      /PG_MAX_LIFETIME_JITTER_MS.*must be <= PG_MAX_LIFETIME_MS/,
    );
    expect(problems({ PG_MAX_LIFETIME_JITTER_MS: '1800001' }).join('\n')).toMatch(
      /PG_MAX_LIFETIME_JITTER_MS/,
    );
    // Control: equal is allowed (a lifetime drawn from [0, max]).
    expect(
      pgPoolSettings(
        loadRuntimeConfig({ ...base, PG_MAX_LIFETIME_MS: '60000', PG_MAX_LIFETIME_JITTER_MS: '60000' }),
      ),
    ).toMatchObject({ maxLifetimeJitterMs: 60_000 });
  });
});
