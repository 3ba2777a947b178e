/** `--devstack`: ephemeral Postgres (migrated) and Redis, and a JWT secret with a token signed by it. */
import { randomBytes } from 'node:crypto';
import { EphemeralPostgres, EphemeralRedis } from '@tether/devstack';
import { migrate } from '@tether/migrations';
import { SignJWT } from 'jose';

export interface SimulationDevstack {
  /** DATABASE_URL, REDIS_URL, AUTH_JWT_SECRET for the replicas. */
  env: Record<string, string>;
  /** `Bearer <JWT>` for the load (sub chart-verify-simulate, valid 1 h). */
  authorization: string;
  close(): Promise<void>;
}

export async function startDevstack(): Promise<SimulationDevstack> {
  const [postgres, redis] = await Promise.all([EphemeralPostgres.start(), EphemeralRedis.start()]);
  try {
    await migrate({ databaseUrl: postgres.url });
    const secret = randomBytes(32).toString('base64url');
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('chart-verify-simulate')
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode(secret));
    return {
      env: { DATABASE_URL: postgres.url, REDIS_URL: redis.url, AUTH_JWT_SECRET: secret },
      authorization: `Bearer ${token}`,
      close: () => Promise.all([postgres.close(), redis.close()]).then(() => undefined),
    };
  } catch (error) {
    await Promise.all([postgres.close(), redis.close()]);
    throw error;
  }
}
