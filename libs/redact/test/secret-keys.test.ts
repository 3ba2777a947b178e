import { describe, expect, it } from 'vitest';
import {
  isSecretKey,
  isSecretQueryParam,
  keyWords,
  mayContainSecretKey,
  SECRET_QUERY_PARAMS,
  SECRET_WHOLE_KEYS,
  SECRET_WORD_PAIRS,
  SECRET_WORDS,
  URL_ONLY_SECRET_PARAMS,
} from '../src/index.ts';

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

describe('mayContainSecretKey', () => {
  it('is true for every word, pair and name of the lists (the prefilter never hides a secret)', () => {
    const entries = [
      ...SECRET_WORDS,
      ...SECRET_WORD_PAIRS.map(([a, b]) => `${a}_${b}`),
      ...SECRET_WHOLE_KEYS,
      ...URL_ONLY_SECRET_PARAMS,
      ...SECRET_QUERY_PARAMS,
    ];
    for (const entry of entries)
      expect(mayContainSecretKey(`{"${entry.toUpperCase()}":1}`), entry).toBe(true);
  });

  it('is false for an ordinary log line', () => {
    expect(
      mayContainSecretKey('{"level":30,"route":"/v1/jobs/:id","status":200,"msg":"request finished"}'),
    ).toBe(false);
  });
});
