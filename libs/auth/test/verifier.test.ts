import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bearerToken,
  createTokenVerifier,
  TokenKeysUnavailableError,
  TokenRejectedError,
} from '../src/index.ts';

const secret = 'a-test-secret-that-is-long-enough-for-hs256';
const key = new TextEncoder().encode(secret);

function hs256(claims: Record<string, unknown>, expiresIn: string | number = '5m', signingKey = key) {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuedAt()
    .setExpirationTime(expiresIn)
    .sign(signingKey);
}

async function reason(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'accepted';
  } catch (error) {
    return error instanceof TokenRejectedError ? error.reason : (error as Error).name;
  }
}

describe('HS256 secret', () => {
  const verify = createTokenVerifier({ secret });

  it('returns the subject and the expiry of a good token', async () => {
    const token = await hs256({ sub: 'alice' });
    const verified = await verify(token);
    expect(verified.subject).toBe('alice');
    expect(verified.expiresAt).toBeGreaterThan(Date.now() + 200_000);
  });

  it('rejects missing, malformed, expired, wrongly signed, alg none and subject-less tokens, each with its reason', async () => {
    const unsigned = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from('{"sub":"alice"}').toString('base64url')}.`;
    expect({
      missing: await reason(verify(undefined)),
      malformed: await reason(verify('not a jwt')),
      expired: await reason(verify(await hs256({ sub: 'alice' }, Math.floor(Date.now() / 1000) - 60))),
      wrongKey: await reason(
        verify(
          await hs256({ sub: 'alice' }, '5m', new TextEncoder().encode('another-secret-of-some-length-here')),
        ),
      ),
      algNone: await reason(verify(unsigned)),
      noSub: await reason(verify(await hs256({ name: 'x' }))),
    }).toEqual({
      missing: 'missing',
      malformed: 'malformed',
      expired: 'expired',
      wrongKey: 'invalid',
      algNone: 'invalid',
      noSub: 'no_subject',
    });
  });

  it('honours the clock tolerance it is given', async () => {
    const justExpired = await hs256({ sub: 'alice' }, Math.floor(Date.now() / 1000) - 3);
    expect(await reason(createTokenVerifier({ secret, clockToleranceS: 10 })(justExpired))).toBe('accepted');
    expect(await reason(createTokenVerifier({ secret, clockToleranceS: 0 })(justExpired))).toBe('expired');
  });

  it('never puts the token in an error message', async () => {
    const token = await hs256(
      { sub: 'alice' },
      '5m',
      new TextEncoder().encode('another-secret-of-some-length-here'),
    );
    const error = await verify(token).catch((e: Error) => e);
    expect(String(error)).not.toContain(token);
  });
});

describe('JWKS', () => {
  let server: Server;
  let url: string;
  let keys: unknown[] = [];
  let fetches = 0;
  let down = false;

  type KeyPair = Awaited<ReturnType<typeof generateKeyPair>>;
  let first: KeyPair;
  let second: KeyPair;

  beforeAll(async () => {
    first = await generateKeyPair('ES256');
    second = await generateKeyPair('ES256');
    keys = [{ ...(await exportJWK(first.publicKey)), kid: 'one', alg: 'ES256' }];
    server = createServer((_req, res) => {
      fetches++;
      if (down) return res.socket?.destroy();

      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const es256 = (pair: KeyPair, kid: string, sub = 'bob') =>
    new SignJWT({ sub })
      .setProtectedHeader({ alg: 'ES256', kid })
      .setExpirationTime('5m')
      .sign(pair.privateKey);

  it('verifies with the fetched keys, caches them, and re-fetches on an unknown kid (key rotation)', async () => {
    const verify = createTokenVerifier({ jwksUrl: url, jwksCooldownMs: 0 });
    expect((await verify(await es256(first, 'one'))).subject).toBe('bob');
    expect((await verify(await es256(first, 'one'))).subject).toBe('bob');
    expect(fetches).toBe(1);
    keys = [...keys, { ...(await exportJWK(second.publicKey)), kid: 'two', alg: 'ES256' }];
    expect((await verify(await es256(second, 'two', 'carol'))).subject).toBe('carol');
    expect(fetches).toBe(2);
  });

  it('rejects an HS256 token when the allow-list is asymmetric (algorithm confusion)', async () => {
    const verify = createTokenVerifier({ jwksUrl: url });
    expect(await reason(verify(await hs256({ sub: 'mallory' })))).toBe('invalid');
  });

  it('reports unreachable keys as TokenKeysUnavailableError, not as a bad token', async () => {
    down = true;
    try {
      const verify = createTokenVerifier({ jwksUrl: url, jwksTimeoutMs: 500 });
      const error = await verify(await es256(first, 'one')).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TokenKeysUnavailableError);
      expect((error as TokenKeysUnavailableError).retryable).toBe(true);
    } finally {
      down = false;
    }
  });
});

describe('JWKS answering 503', () => {
  it('is reported as TokenKeysUnavailableError too (jose throws a generic error for a non-200)', async () => {
    const pair = await generateKeyPair('ES256');
    const server = createServer((_req, res) => void res.writeHead(503).end());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const verify = createTokenVerifier({
        jwksUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`,
      });
      const token = await new SignJWT({ sub: 'bob' })
        .setProtectedHeader({ alg: 'ES256', kid: 'one' })
        .setExpirationTime('5m')
        .sign(pair.privateKey);
      expect(await verify(token).catch((e: unknown) => e)).toBeInstanceOf(TokenKeysUnavailableError);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

describe('options', () => {
  it('rejects bad options with a message naming the field', () => {
    expect(() => createTokenVerifier({})).toThrow(/^secret must be set when jwksUrl is not/);
    expect(() => createTokenVerifier({ secret, jwksUrl: 'http://x' })).toThrow(/exactly one/);
    expect(() => createTokenVerifier({ secret, algorithms: ['HS256', 'none'] })).toThrow(
      'algorithms must be non-empty and must not contain "none", got an array',
    );
    expect(() => createTokenVerifier({ secret, clockToleranceS: -1 })).toThrow(
      expect.objectContaining({ code: 'TETHER_INVALID_OPTION', field: 'clockToleranceS', retryable: false }),
    );
    expect(() => createTokenVerifier({ jwksUrl: 'not a url' })).toThrow(
      'jwksUrl must be an absolute http(s) URL',
    );
  });

  it('bearerToken reads only the Bearer scheme', () => {
    expect(bearerToken('Bearer abc.def.ghi')).toBe('abc.def.ghi');
    expect(bearerToken('Basic dXNlcjpwYXNz')).toBeUndefined();
    expect(bearerToken(undefined)).toBeUndefined();
  });
});
