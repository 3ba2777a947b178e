import { describe, expect, it } from 'vitest';
import { REDACTED, redactText, redactUrl, redactValue } from '../src/index.ts';

describe('redactText', () => {
  it('masks URL userinfo of any scheme, keeping scheme and host', () => {
    expect(redactText('connect ECONNREFUSED postgres://app:pg-pass@db:5432/tether')).toBe(
      'connect ECONNREFUSED postgres://***@db:5432/tether',
    );
    expect(redactText('redis://:r3dis@cache:6379 and amqp://u:p@mq/vhost')).toBe(
      'redis://***@cache:6379 and amqp://***@mq/vhost',
    );
    expect(redactText('see http://example.com/a@b')).toBe('see http://example.com/a@b');
  });

  it('masks secret key=value pairs (libpq DSNs) and leaves look-alike keys alone', () => {
    expect(redactText("host=db user=app password=kw-pass sslmode=require sslpassword='a b'")).toBe(
      'host=db user=app password=*** sslmode=require sslpassword=***',
    );
    expect(redactText('db_password=x1 dbPassword: x2 X-Api-Key: x3 max_tokens=4096 passed=12')).toBe(
      'db_password=*** dbPassword: *** X-Api-Key: *** max_tokens=4096 passed=12',
    );
    expect(redactText('compass=north tokenizer=bpe')).toBe('compass=north tokenizer=bpe');
  });

  it('masks secret query parameters, including URL-only names, and keeps the others', () => {
    expect(
      redactText('GET /v1/stream?access_token=eyX.qs&page=2&api_key=k1&key=k2&code=c3&sig=s4&max_tokens=9'),
    ).toBe('GET /v1/stream?access_token=***&page=2&api_key=***&key=***&code=***&sig=***&max_tokens=9');
    // A secret inside the "value" of an ordinary key (`wss:` here) is still found.
    expect(redactText('upgrade to wss://gw/x?access_token=t1 failed: 503')).toBe(
      'upgrade to wss://gw/x?access_token=*** failed: 503',
    );
    // Outside a query string, "key" and "code" are ordinary words.
    expect(redactText('key=user:42 code=57P01')).toBe('key=user:42 code=57P01');
  });

  it('masks bearer/basic credentials and bare JWTs', () => {
    expect(redactText('Authorization: Bearer abc.def-ghi')).toBe('Authorization: Bearer ***');
    expect(redactText('basic auth: Basic dXNlcjpwYXNz')).toBe('basic auth: Basic ***');
    expect(redactText('token in text eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1In0.c2lnbmF0dXJl end')).toBe(
      'token in text ***jwt end',
    );
  });

  it('leaves text without secrets unchanged', () => {
    const text = 'terminating connection due to administrator command (SQLSTATE 57P01) at 10:42:01';
    expect(redactText(text)).toBe(text);
  });
});

describe('redactUrl', () => {
  it('masks the password and secret query parameters, keeps the user', () => {
    expect(redactUrl('postgres://app:pw@db:5432/x?sslpassword=pw2&sslmode=require&api_key=k')).toBe(
      'postgres://app:***@db:5432/x?sslpassword=***&sslmode=require&api_key=***',
    );
    expect(redactUrl('wss://gw/v1/stream?access_token=t&key=k')).toBe(
      'wss://gw/v1/stream?access_token=***&key=***',
    );
    expect(redactUrl('redis://cache:6379')).toBe('redis://cache:6379');
  });

  it('gives no hint of text that is not a URL (it could be a bare password)', () => {
    expect(redactUrl('hunter2')).toBe('<unparseable URL>');
  });
});

describe('redactValue', () => {
  it('replaces secret-keyed values at any depth, in arrays, in every casing', () => {
    const input = {
      user: 'app',
      dbPassword: 'p1',
      db_password: 'p2',
      'x-api-key': 'p3',
      nested: {
        headers: { Authorization: 'Bearer p4', cookie: 'sid=p5', accept: 'json' },
        sentinels: [{ host: 's1', password: 'p6' }],
        credentials: { user: 'u', pass: 'p7' },
      },
      usage: { max_tokens: 4096, passed: 3, compass: 'N', tokenizer: 'bpe' },
    };
    const out = redactValue(input) as typeof input;
    expect(out).toEqual({
      user: 'app',
      dbPassword: REDACTED,
      db_password: REDACTED,
      'x-api-key': REDACTED,
      nested: {
        headers: { Authorization: REDACTED, cookie: REDACTED, accept: 'json' },
        sentinels: [{ host: 's1', password: REDACTED }],
        credentials: REDACTED,
      },
      usage: { max_tokens: 4096, passed: 3, compass: 'N', tokenizer: 'bpe' },
    });
    // The caller's object is untouched.
    expect(input.dbPassword).toBe('p1');
  });

  it('honours extra keys, survives cycles, and copies shared objects', () => {
    const shared = { token: 't' };
    const cyclic: Record<string, unknown> = { a: shared, b: shared, sessionId: 's' };
    cyclic['self'] = cyclic;
    expect(redactValue(cyclic, new Set(['sessionid']))).toEqual({
      a: { token: REDACTED },
      b: { token: REDACTED },
      sessionId: REDACTED,
      self: '[circular]',
    });
  });

  it('returns an object without secrets as it is, and copies only what changes', () => {
    const clean = { route: '/v1/jobs/:id', nested: { status: 200, list: [1, { a: 'b' }] } };
    expect(redactValue(clean)).toBe(clean);
    const mixed = { clean: clean.nested, db: { password: 'pw', host: 'db' } };
    const out = redactValue(mixed) as typeof mixed;
    expect(out).not.toBe(mixed);
    expect(out.clean).toBe(clean.nested);
    expect(out.db).toEqual({ password: REDACTED, host: 'db' });
    expect(mixed.db.password).toBe('pw');
  });

  it('keeps empty secrets visible (an unset password is worth seeing) and non-objects as they are', () => {
    expect(redactValue({ password: '', token: null })).toEqual({ password: '', token: null });
    expect(redactValue('password=x')).toBe('password=x');
    const error = new Error('x');
    expect(redactValue({ err: error })).toEqual({ err: error });
  });
});
