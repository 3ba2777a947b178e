import { EphemeralPostgres, EphemeralRedis, startApp, type AppProcess } from '@tether/devstack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const entry = new URL('../src/main.ts', import.meta.url).pathname;
const secret = 'a-dev-secret-of-at-least-32-characters';

describe('worker (placeholder until its issue lands)', () => {
  let pg: EphemeralPostgres;
  let redis: EphemeralRedis;
  let app: AppProcess | undefined;
  beforeAll(async () => {
    [pg, redis] = await Promise.all([EphemeralPostgres.start(), EphemeralRedis.start()]);
  });
  afterAll(async () => {
    await app?.stop('SIGKILL');
    await Promise.all([pg?.close(), redis?.close()]);
  });

  it('serves its admin probes and exits 0 through the graceful path on SIGTERM', async () => {
    app = await startApp(entry, { DATABASE_URL: pg.url, REDIS_URL: redis.url, AUTH_JWT_SECRET: secret });
    await app.ready();
    for (const probe of ['/livez', '/readyz', '/startupz']) {
      expect((await fetch(`http://127.0.0.1:${app.adminPort}${probe}`)).status).toBe(200);
    }
    expect(await app.stop('SIGTERM')).toBe(0);
    expect(app.output()).toMatch(/shutdown complete/);
  });

  it('refuses to start on bad configuration, naming the variable and hiding the password', async () => {
    const bad = await startApp(entry, { DATABASE_URL: `mysql://u:${pg.password}@h/db`, REDIS_URL: redis.url, AUTH_JWT_SECRET: secret });
    const code = await new Promise<number | null>((resolve) => bad.child.once('exit', (c) => resolve(c)));
    expect(code).not.toBe(0);
    expect(bad.output()).toMatch(/DATABASE_URL must be a URL with scheme postgres or postgresql/);
    expect(bad.output()).not.toContain(pg.password);
  });
});
