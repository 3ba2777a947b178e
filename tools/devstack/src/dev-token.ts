import { createHmac, randomBytes } from 'node:crypto';

function base64url(data: string | Buffer): string {
  return Buffer.from(data).toString('base64url');
}

/** A random HS256 secret for `AUTH_JWT_SECRET` in local runs. */
export function devSecret(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * An HS256 JWT for local use (`sub` owns the jobs it creates). Signed with node:crypto rather than
 * a JWT library: the devstack only ever mints this one shape; the apps verify with a real library.
 */
export function devToken(secret: string, sub = 'dev-user', ttlSeconds = 7 * 24 * 3600): string {
  const now = Math.floor(Date.now() / 1000);
  const header = base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const payload = base64url(JSON.stringify({ sub, iat: now, exp: now + ttlSeconds }));
  const signature = createHmac('sha256', secret).update(`${header}.${payload}`).digest('base64url');
  return `${header}.${payload}.${signature}`;
}
