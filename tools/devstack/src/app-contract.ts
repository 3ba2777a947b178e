/**
 * The lifecycle contract every Tether app keeps (docs/architecture.md): admin probes answer 200
 * once started, SIGTERM ends in exit 0 through the graceful path, bad configuration stops start-up
 * with a message naming the variable and never the password. One suite, run by each app's tests.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AppProcess, startApp } from './app-process.ts';
import { EphemeralPostgres } from './postgres.ts';
import { EphemeralRedis } from './redis.ts';

export interface AppContractOptions {
  /** Absolute path of the app's entry point (`apps/<name>/src/main.ts`). */
  entry: string;
  /** Extra checks against the started app (its public port, say) before it is stopped. */
  whileRunning?: (app: AppProcess) => Promise<void>;
}

const secret = 'a-dev-secret-of-at-least-32-characters';

export function describeAppContract(name: string, options: AppContractOptions): void {
  describe(`${name}: the app lifecycle contract`, () => {
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
      app = await startApp(options.entry, {
        DATABASE_URL: pg.url,
        REDIS_URL: redis.url,
        AUTH_JWT_SECRET: secret,
      });
      await app.ready();
      for (const probe of ['/livez', '/readyz', '/startupz', '/metrics']) {
        expect((await fetch(`http://127.0.0.1:${app.adminPort}${probe}`)).status, probe).toBe(200);
      }
      await options.whileRunning?.(app);
      expect(await app.stop('SIGTERM')).toBe(0);
      expect(app.output()).toMatch(/shutdown complete/);
    });

    it('refuses to start on bad configuration, naming the variable and hiding the password', async () => {
      const bad = await startApp(options.entry, {
        DATABASE_URL: `mysql://u:${pg.password}@h/db`,
        REDIS_URL: redis.url,
        AUTH_JWT_SECRET: secret,
      });
      expect(await bad.exited()).not.toBe(0);
      expect(bad.output()).toMatch(/DATABASE_URL must be a URL with scheme postgres or postgresql/);
      expect(bad.output()).not.toContain(pg.password);
    });
  });
}
