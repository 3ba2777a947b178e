import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTokenVerifier, TokenRejectedError } from '../src/index.ts';

const secret = 'a-test-secret-that-is-long-enough-for-hs256';

async function reason(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'accepted';
  } catch (error) {
    return error instanceof TokenRejectedError ? error.reason : (error as Error).name;
  }
}

/** An HS256 token for `sub`, signed with `key` (default: the verifier's secret). */
function sign(sub: string, expiration: number | string, key = secret): Promise<string> {
  return new SignJWT({ sub })
    .setProtectedHeader({ alg: 'HS256' })
    .setExpirationTime(expiration)
    .sign(new TextEncoder().encode(key));
}

describe('verified tokens are remembered, never past their expiry', () => {
  it('a token accepted from memory is still rejected once its exp has passed', async () => {
    const verify = createTokenVerifier({ secret, clockToleranceS: 0 });
    const expSeconds = Math.floor(Date.now() / 1000) + 2;
    const token = await sign('alice', expSeconds);
    expect((await verify(token)).subject).toBe('alice');
    expect(await verify(token)).toEqual({ subject: 'alice', expiresAt: expSeconds * 1000 });
    await new Promise((r) => setTimeout(r, expSeconds * 1000 - Date.now() + 50));
    expect(await reason(verify(token))).toBe('expired');
  });

  it('a rejected token is checked again every time (failures are not remembered)', async () => {
    const verify = createTokenVerifier({ secret });
    const forged = await sign('mallory', '5m', 'another-secret-that-is-long-enough-too');
    expect([await reason(verify(forged)), await reason(verify(forged))]).toEqual(['invalid', 'invalid']);
  });

  it('HS384 and HS512 still verify when allowed (one imported key per algorithm)', async () => {
    const verify = createTokenVerifier({ secret, algorithms: ['HS256', 'HS384', 'HS512'] });
    for (const alg of ['HS256', 'HS384', 'HS512']) {
      const token = await new SignJWT({ sub: alg })
        .setProtectedHeader({ alg })
        .setExpirationTime('5m')
        .sign(new TextEncoder().encode(secret));
      expect((await verify(token)).subject).toBe(alg);
    }
  });

  it('cached() answers without a promise exactly what the cache may answer: verified, unexpired tokens', async () => {
    const verify = createTokenVerifier({ secret, clockToleranceS: 0 });
    const expSeconds = Math.floor(Date.now() / 1000) + 2;
    const token = await sign('alice', expSeconds);
    const forged = await sign('mallory', '5m', 'another-secret-that-is-long-enough-too');
    expect(verify.cached(token)).toBeUndefined();
    await verify(token);
    expect(verify.cached(token)).toEqual({ subject: 'alice', expiresAt: expSeconds * 1000 });
    expect(await reason(verify(forged))).toBe('invalid');
    expect(verify.cached(forged)).toBeUndefined();
    await new Promise((r) => setTimeout(r, expSeconds * 1000 - Date.now() + 50));
    expect(verify.cached(token)).toBeUndefined();

    const uncached = createTokenVerifier({ secret, verifiedCacheMaxEntries: 0 });
    const fresh = await sign('bob', '5m');
    expect((await uncached(fresh)).subject).toBe('bob');
    expect(uncached.cached(fresh)).toBeUndefined();
  });

  it('rejects a bad cache option with a message naming the field', () => {
    expect(() => createTokenVerifier({ secret, verifiedCacheMaxEntries: -1 })).toThrow(
      expect.objectContaining({ code: 'TETHER_INVALID_OPTION', field: 'verifiedCacheMaxEntries' }),
    );
    expect(() => createTokenVerifier({ secret, verifiedCacheMaxAgeMs: 1.5 })).toThrow(
      expect.objectContaining({ code: 'TETHER_INVALID_OPTION', field: 'verifiedCacheMaxAgeMs' }),
    );
  });
});

describe('with JWKS keys that go stale at once, a repeated token costs no key fetch', () => {
  let server: Server;
  let url: string;
  let fetches = 0;
  let token: string;

  beforeAll(async () => {
    const pair = await generateKeyPair('ES256');
    const keys = [{ ...(await exportJWK(pair.publicKey)), kid: 'one', alg: 'ES256' }];
    server = createServer((_req, res) => {
      fetches++;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;
    token = await new SignJWT({ sub: 'bob' })
      .setProtectedHeader({ alg: 'ES256', kid: 'one' })
      .setExpirationTime('5m')
      .sign(pair.privateKey);
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const fetchesFor = async (verifiedCacheMaxEntries: number) => {
    const verify = createTokenVerifier({ jwksUrl: url, jwksCacheMaxAgeMs: 1, verifiedCacheMaxEntries });
    const before = fetches;
    for (let i = 0; i < 5; i++) {
      expect((await verify(token)).subject).toBe('bob');
      await new Promise((r) => setTimeout(r, 5));
    }
    return fetches - before;
  };

  it('verified once (one fetch); the control without the cache re-fetches the stale keys for each', async () => {
    expect(await fetchesFor(10_000)).toBe(1);
    expect(await fetchesFor(0)).toBe(5);
  });
});
