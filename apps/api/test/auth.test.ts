import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { EphemeralPostgres } from '@tether/devstack';
import { decodeJwt, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectProblem, SECRET, startApi, startMigratedPostgres, token, type RunningApi } from './support.ts';

const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('bearer auth (HS256 secret)', () => {
  let pg: EphemeralPostgres;
  let api: RunningApi;
  beforeAll(async () => {
    pg = await startMigratedPostgres();
    api = await startApi(pg.url);
  });
  afterAll(async () => {
    await api?.close();
    await pg?.close();
  });

  const withToken = (bearer: string | undefined, path = '/v1/jobs') =>
    api.call('GET', path, {
      auth: false,
      ...(bearer === undefined ? {} : { headers: { authorization: bearer } }),
    });

  it('answers 401 problem+json with a Bearer challenge for missing, malformed, expired, wrongly signed, alg none and subject-less tokens', async () => {
    const now = Math.floor(Date.now() / 1000);
    const none = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: 'alice', iat: now, exp: now + 300 })}.`;
    // Control: the alg-none token carries a perfectly readable claim set; only verification stops it.
    expect(decodeJwt(none).sub).toBe('alice');
    const cases: [string, string | undefined][] = [
      ['missing', undefined],
      ['not bearer', `Basic ${Buffer.from('alice:pw').toString('base64')}`],
      ['garbage', 'Bearer not-a-jwt'],
      ['expired', `Bearer ${await token('alice', { expiresIn: '-1m' })}`],
      [
        'wrong signature',
        `Bearer ${await token('alice', { secret: 'another-secret-that-is-at-least-32-chars' })}`,
      ],
      ['alg none', `Bearer ${none}`],
      ['no sub', `Bearer ${await token(undefined)}`],
      [
        'HS512 (not allowed)',
        `Bearer ${await new SignJWT({ sub: 'alice' })
          .setProtectedHeader({ alg: 'HS512' })
          .setExpirationTime('5m')
          .sign(new TextEncoder().encode(SECRET))}`,
      ],
    ];
    for (const [name, bearer] of cases) {
      const response = await withToken(bearer);
      expect(response.status, name).toBe(401);
      expectProblem(response, 401, 'unauthorized');
      expect(response.headers.get('www-authenticate'), name).toMatch(/^Bearer/);
      expect(JSON.stringify(response.body), name).not.toContain(SECRET);
    }
    // Control: the same request with a good token is accepted.
    expect((await withToken(`Bearer ${await token('alice')}`)).status).toBe(200);
  });

  it('tolerates a little clock skew but no more', async () => {
    const now = Math.floor(Date.now() / 1000);
    const sign = (exp: number) =>
      new SignJWT({ sub: 'alice' })
        .setProtectedHeader({ alg: 'HS256' })
        .setExpirationTime(exp)
        .sign(new TextEncoder().encode(SECRET));
    expect((await withToken(`Bearer ${await sign(now - 2)}`)).status).toBe(200);
    expect((await withToken(`Bearer ${await sign(now - 30)}`)).status).toBe(401);
  });

  it("hides one user's jobs from another: get, cancel 404 (as for a missing job), list empty", async () => {
    const created = await api.call('POST', '/v1/jobs', {
      body: { type: 'demo.sleep', payload: { ms: 1 } },
      sub: 'owner',
    });
    expect(created.status).toBe(202);
    const id = created.body.id as string;
    const missing = '00000000-0000-4000-8000-000000000000';
    for (const [method, path] of [
      ['GET', `/v1/jobs/${id}`],
      ['POST', `/v1/jobs/${id}/cancel`],
    ] as const) {
      const other = await api.call(method, path, { sub: 'mallory' });
      expectProblem(other, 404, 'job-not-found');
      // Indistinguishable from a job that does not exist.
      const none = await api.call(method, path.replace(id, missing), { sub: 'mallory' });
      expect({ ...none.body, instance: undefined }).toEqual({ ...other.body, instance: undefined });
    }
    const list = await api.call('GET', '/v1/jobs', { sub: 'mallory' });
    expect(list.body.items).toEqual([]);
    // Control: the owner sees it, and it was not cancelled by mallory.
    expect((await api.call('GET', `/v1/jobs/${id}`, { sub: 'owner' })).body.status).toBe('queued');
    expect(
      (await api.call('GET', '/v1/jobs', { sub: 'owner' })).body.items.map((j: { id: string }) => j.id),
    ).toEqual([id]);
  });
});

describe('bearer auth (JWKS)', () => {
  let pg: EphemeralPostgres;
  let api: RunningApi;
  let jwks: Server;
  const keys: JWK[] = [];
  let fetches = 0;
  let jwksDown = false;
  const signers = new Map<string, CryptoKey>();

  async function addKey(kid: string) {
    const { publicKey, privateKey } = await generateKeyPair('ES256');
    keys.push({ ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' });
    signers.set(kid, privateKey);
  }
  const sign = (kid: string, sub = 'alice') =>
    new SignJWT({ sub })
      .setProtectedHeader({ alg: 'ES256', kid })
      .setExpirationTime('5m')
      .sign(signers.get(kid)!);

  beforeAll(async () => {
    await addKey('k1');
    jwks = createServer((_req, res) => {
      fetches++;
      if (jwksDown) {
        res.writeHead(503).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys }));
    });
    await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
    pg = await startMigratedPostgres();
    api = await startApi(pg.url, {
      auth: {
        jwksUrl: `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/jwks.json`,
        jwksCooldownMs: 0,
      },
    });
  });
  afterAll(async () => {
    await api?.close();
    await pg?.close();
    jwks?.closeAllConnections();
    await new Promise((resolve) => jwks?.close(resolve));
  });

  const get = async (bearer: string) =>
    api.call('GET', '/v1/jobs', { auth: false, headers: { authorization: `Bearer ${bearer}` } });

  it('verifies with cached keys and re-fetches once when a token names a new kid (key rotation)', async () => {
    expect((await get(await sign('k1'))).status).toBe(200);
    expect((await get(await sign('k1'))).status).toBe(200);
    expect(fetches).toBe(1);
    await addKey('k2');
    expect((await get(await sign('k2'))).status).toBe(200);
    expect(fetches).toBe(2);
  });

  it('refuses an HS256 token signed with a public key’s bytes (algorithm confusion) and unknown kids', async () => {
    const hs = await new SignJWT({ sub: 'alice' })
      .setProtectedHeader({ alg: 'HS256', kid: 'k1' })
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode(JSON.stringify(keys[0])));
    expectProblem(await get(hs), 401, 'unauthorized');
    const { privateKey } = await generateKeyPair('ES256');
    const stranger = await new SignJWT({ sub: 'alice' })
      .setProtectedHeader({ alg: 'ES256', kid: 'nobody' })
      .setExpirationTime('5m')
      .sign(privateKey);
    expectProblem(await get(stranger), 401, 'unauthorized');
  });

  it('answers 503 + Retry-After (not 401) when the JWKS endpoint is down for a new kid', async () => {
    jwksDown = true;
    try {
      await addKey('k3');
      const response = await get(await sign('k3'));
      expectProblem(response, 503, 'service-unavailable');
      expect(response.headers.get('retry-after')).toMatch(/^\d+$/);
      // Keys already cached keep working through the outage.
      expect((await get(await sign('k1'))).status).toBe(200);
    } finally {
      jwksDown = false;
    }
  });
});
