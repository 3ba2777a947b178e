import { describe, expect, it } from 'vitest';
import { ConfigError, loadRuntimeConfig, redactUrl } from '../src/index.ts';

const secret = 's3cr3t-Passw0rd!';
const valid = {
  DATABASE_URL: `postgres://app:${secret}@db:5432/tether?sslmode=require`,
  REDIS_URL: 'redis://cache:6379',
  PORT: '8080',
  ADMIN_PORT: '9090',
  AUTH_JWT_SECRET: 'x'.repeat(32),
};

function failure(env: Record<string, string>, options = {}): ConfigError {
  try {
    loadRuntimeConfig(env, options);
  } catch (error) {
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('loadRuntimeConfig', () => {
  it('parses a valid environment with defaults', () => {
    expect(loadRuntimeConfig(valid, { require: ['PORT', 'AUTH'] })).toEqual({
      DATABASE_URL: valid.DATABASE_URL,
      REDIS_URL: valid.REDIS_URL,
      PORT: 8080,
      ADMIN_PORT: 9090,
      AUTH_JWT_SECRET: valid.AUTH_JWT_SECRET,
      LOG_LEVEL: 'info',
    });
  });

  it('names every bad variable in one error and never echoes a value', () => {
    const error = failure({
      ...valid,
      DATABASE_URL: `mysql://app:${secret}@db/x`,
      REDIS_URL: `http://:${secret}@r`,
      PORT: '80000',
      LOG_LEVEL: 'loud',
    });
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.code).toBe('TETHER_CONFIG_INVALID');
    expect(error.variables.sort()).toEqual(['DATABASE_URL', 'LOG_LEVEL', 'PORT', 'REDIS_URL']);
    expect(error.message).toMatch(/DATABASE_URL must be a URL with scheme postgres or postgresql/);
    expect(error.message).toMatch(/REDIS_URL must be a URL with scheme redis or rediss/);
    expect(error.message).not.toContain(secret);
    expect(JSON.stringify(error)).not.toContain(secret);
  });

  it('requires the connection URLs and what the app asks for; empty means unset', () => {
    const error = failure({ DATABASE_URL: '', PORT: '' }, { require: ['PORT', 'AUTH'] });
    expect(error.message).toMatch(/DATABASE_URL is required/);
    expect(error.message).toMatch(/REDIS_URL is required/);
    expect(error.message).toMatch(/PORT is required/);
    expect(error.message).toMatch(/AUTH_JWT_SECRET or AUTH_JWKS_URL is required/);
  });

  it('rejects a short secret and both auth methods at once without printing the secret', () => {
    const short = failure({ ...valid, AUTH_JWT_SECRET: 'short-secret' });
    expect(short.message).toMatch(/AUTH_JWT_SECRET must be at least 32 characters/);
    expect(short.message).not.toContain('short-secret');
    const both = failure({ ...valid, AUTH_JWKS_URL: 'https://issuer/.well-known/jwks.json' });
    expect(both.message).toMatch(/AUTH_JWT_SECRET and AUTH_JWKS_URL are both set/);
  });
});

describe('ConfigError', () => {
  it('scrubs a secret that a validator message quotes, with the shared rule', () => {
    const problem = `could not parse postgres://app:${secret}@db/x (password=${secret})`;
    const error = new ConfigError([{ variable: 'DATABASE_URL', problem }]);
    expect(problem).toContain(secret);
    expect(error.message).toBe(
      // The value runs to the next space: a password may contain ')', so the ')' goes too.
      'invalid configuration: DATABASE_URL could not parse postgres://***@db/x (password=***',
    );
  });
});

describe('redactUrl (the shared @tether/redact rule)', () => {
  it('hides passwords and secret query values, by whole words only', () => {
    expect(redactUrl(`https://api/x?api_key=${secret}&max_tokens=5&access_token=${secret}`)).toBe(
      'https://api/x?api_key=***&max_tokens=5&access_token=***',
    );
    expect(redactUrl(`postgres://app:${secret}@db:5432/x?sslpassword=${secret}&sslmode=require`)).toBe(
      'postgres://app:***@db:5432/x?sslpassword=***&sslmode=require',
    );
    expect(redactUrl('redis://cache:6379')).toBe('redis://cache:6379');
    expect(redactUrl(`not a url ${secret}`)).toBe('<unparseable URL>');
  });
});
