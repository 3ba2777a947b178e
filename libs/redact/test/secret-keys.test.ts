import { describe, expect, it } from 'vitest';
import { isSecretKey, isSecretQueryParam, keyWords, SECRET_QUERY_PARAMS } from '../src/index.ts';

describe('isSecretKey', () => {
  it.each([
    'password',
    'PASSWORD',
    'dbPassword',
    'db_password',
    'DB_PASSWORD',
    'db-password',
    'DBPassword',
    'password2',
    'passwd',
    'pwd',
    'pass',
    'sslpassword',
    'passphrase',
    'secret',
    'AUTH_JWT_SECRET',
    'clientSecret',
    'client_secret',
    'token',
    'accessToken',
    'access_token',
    'refresh-token',
    'X-Auth-Token',
    'apikey',
    'apiKey',
    'api_key',
    'x-api-key',
    'API-KEY',
    'authorization',
    'Authorization',
    'proxy-authorization',
    'cookie',
    'set-cookie',
    'credentials',
    'awsCredential',
    'privateKey',
    'private_key',
    'dsn',
    'SENTRY_DSN',
    'connectionString',
    'connection_string',
    'headers.authorization',
    'X-Amz-Signature',
  ])('%s is secret', (key) => {
    expect(isSecretKey(key)).toBe(true);
  });

  it.each([
    'passed',
    'testsPassed',
    'passThrough',
    'compass',
    'max_tokens',
    'maxTokens',
    'tokenizer',
    'tokens',
    'keyspace',
    'key',
    'monkey',
    'authorized',
    'author',
    'secretary',
    'bypass',
    'AUTH_JWKS_URL',
    'DATABASE_URL',
    'credit',
    'pdsn',
    'id',
    '',
  ])('%s is not secret', (key) => {
    expect(isSecretKey(key)).toBe(false);
  });

  it('adds whole extra keys, compared lower-cased', () => {
    const extra = new Set(['sessionid']);
    expect(isSecretKey('sessionId', extra)).toBe(true);
    expect(isSecretKey('sessionIdle', extra)).toBe(false);
    expect(isSecretKey('sessionId')).toBe(false);
  });

  it('gives the same answer from its cache as on the first call', () => {
    for (let i = 0; i < 3; i++) {
      expect(isSecretKey('userPassword')).toBe(true);
      expect(isSecretKey('userPassed')).toBe(false);
    }
  });

  it('splits keys into words across the usual casings', () => {
    expect(keyWords('dbPassword')).toEqual(['db', 'password']);
    expect(keyWords('DBPassword')).toEqual(['db', 'password']);
    expect(keyWords('x-api-key')).toEqual(['x', 'api', 'key']);
    expect(keyWords('AUTH_JWT_SECRET')).toEqual(['auth', 'jwt', 'secret']);
    expect(keyWords('password2')).toEqual(['password', '2']);
    expect(keyWords('headers.Set-Cookie')).toEqual(['headers', 'set', 'cookie']);
  });

  it('flags every name of the exact query-parameter list (the list agrees with the matcher)', () => {
    for (const name of SECRET_QUERY_PARAMS) expect(isSecretQueryParam(name), name).toBe(true);
    // Generic names are secrets in a URL only.
    expect(isSecretKey('code')).toBe(false);
    expect(isSecretQueryParam('code')).toBe(true);
    expect(isSecretQueryParam('page')).toBe(false);
  });
});
