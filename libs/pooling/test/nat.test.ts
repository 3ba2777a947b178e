/**
 * Through a real kernel NAT (the devstack's NatPath: a network namespace whose conntrack forgets
 * flows idle for 3 s and then drops their packets silently), the failure Tether exists for:
 *
 * - NAT idle timeout below the lib's keepalive: idle connections die silently; the next calls still
 *   succeed on fresh connections (validation on checkout for pg, socket timeouts for Redis).
 *   Control: raw pg.Pool and raw ioredis hang on the same path.
 * - keepalive below the NAT timeout: the keepalive probes refresh the NAT's mapping, so idle
 *   connections survive long idle periods with no reconnect at all (which a userspace proxy cannot
 *   show: only a kernel middlebox sees keepalive probes).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { EphemeralPostgres, EphemeralRedis, NatPath } from '@tether/devstack';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgPool, createRedis, type PgEvictionEvent, type TetherPgPool } from '../src/index.ts';
import { warm } from './load.ts';

const NAT_IDLE_S = 3;
const IDLE_PAST_NAT_MS = 5_000;

let postgres: EphemeralPostgres;
let redis: EphemeralRedis;
let nat: NatPath;

beforeAll(async () => {
  [postgres, redis] = await Promise.all([EphemeralPostgres.start(), EphemeralRedis.start()]);
  await postgres.sql('CREATE TABLE nat_writes (id text PRIMARY KEY)');
  await postgres.sql(`GRANT ALL ON nat_writes TO ${postgres.user}`);
  nat = await NatPath.create({ idleTimeoutS: NAT_IDLE_S, ports: [postgres.port, redis.port] });
});

afterAll(async () => {
  await nat?.close();
  await Promise.all([postgres?.close(), redis?.close()]);
});

/** Resolves 'hung' if `work` has not settled after `ms`. */
async function settlesWithin<T>(work: Promise<T>, ms: number): Promise<'settled' | 'hung'> {
  work.catch(() => {});
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<'hung'>((resolve) => {
    timer = setTimeout(() => resolve('hung'), ms);
  });
  const outcome = await Promise.race([
    work.then(
      () => 'settled' as const,
      () => 'settled' as const,
    ),
    hung,
  ]);
  clearTimeout(timer);
  return outcome;
}

/** `warm`, with the pids sorted (so two warm-ups can be compared). */
async function warmSorted(pool: TetherPgPool, n: number): Promise<number[]> {
  return (await warm(pool, n)).sort((x, y) => x - y);
}

async function rowsWithPrefix(prefix: string): Promise<string[]> {
  const rows = await postgres.sql<{ id: string }>('SELECT id FROM nat_writes WHERE id LIKE $1 ORDER BY id', [
    `${prefix}%`,
  ]);
  return rows.map((r) => r.id);
}

describe('Postgres through a NAT that forgets idle flows after 3 s', () => {
  it('keepalive slower than the NAT: idle connections die silently, and 20 non-idempotent INSERTs still all succeed once', async () => {
    const evictions: PgEvictionEvent[] = [];
    const pool = createPgPool({
      connectionString: nat.url(postgres.url),
      max: 4,
      keepAliveInitialDelayMs: 10_000,
      validationTimeoutMs: 500,
      deadlineMs: 5_000,
    });
    pool.on('evict', (e) => evictions.push(e));
    try {
      await warmSorted(pool, 4);
      await sleep(IDLE_PAST_NAT_MS);
      const ids = Array.from({ length: 20 }, (_, i) => `a-${String(i).padStart(2, '0')}`);
      const results = await Promise.allSettled(
        ids.map((id) => pool.query('INSERT INTO nat_writes (id) VALUES ($1)', [id])),
      );
      expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
      expect(await rowsWithPrefix('a-')).toEqual(ids);
      // The connections really died: each one the pool had was replaced.
      expect(evictions.length).toBeGreaterThanOrEqual(1);
    } finally {
      await pool.drain(2_000);
    }
  });

  it('control: a raw pg.Pool on the same path hangs on its first query after the idle period', async () => {
    const pool = new pg.Pool({ connectionString: nat.url(postgres.url), max: 2 });
    pool.on('error', () => {});
    try {
      await Promise.all([pool.query('SELECT pg_sleep(0.05)'), pool.query('SELECT pg_sleep(0.05)')]);
      await sleep(IDLE_PAST_NAT_MS);
      expect(
        await settlesWithin(pool.query('INSERT INTO nat_writes (id) VALUES ($1)', ['control-1']), 8_000),
      ).toBe('hung');
    } finally {
      // end() would wait for the hung query: cut the sockets instead.
      for (const client of (
        pool as unknown as { _clients: { connection: { stream: { destroy(): void } } }[] }
      )._clients) {
        client.connection.stream.destroy();
      }
    }
  });

  it('keepalive faster than the NAT: connections survive 8 s idle with no reconnect', async () => {
    const evictions: PgEvictionEvent[] = [];
    const pool = createPgPool({
      connectionString: nat.url(postgres.url),
      max: 4,
      keepAliveInitialDelayMs: 1_000,
    });
    pool.on('evict', (e) => evictions.push(e));
    try {
      const before = await warmSorted(pool, 4);
      await sleep(8_000);
      const after = await warmSorted(pool, 4);
      expect(after).toEqual(before);
      expect(evictions).toEqual([]);
      await pool.query('INSERT INTO nat_writes (id) VALUES ($1)', ['b-1']);
      expect(await rowsWithPrefix('b-')).toEqual(['b-1']);
    } finally {
      await pool.drain(2_000);
    }
  });
});

describe('Redis through a NAT that forgets idle flows after 3 s', () => {
  it('keepalive slower than the NAT: after a silent death, idempotent calls succeed, no INCR is applied twice, and the client recovers', async () => {
    const client = createRedis({
      url: nat.url(redis.url),
      keepAliveMs: 10_000,
      socketTimeoutMs: 1_000,
      deadlineMs: 6_000,
    });
    try {
      await client.execute((c) => c.ping(), { idempotent: true });
      await sleep(IDLE_PAST_NAT_MS);
      const writes = await Promise.allSettled(
        Array.from({ length: 10 }, (_, i) =>
          client.execute((c) => c.set(`nat:k${i}`, String(i)), { idempotent: true }),
        ),
      );
      expect(writes.filter((r) => r.status === 'rejected')).toEqual([]);
      expect(await redis.command('MGET', ...Array.from({ length: 10 }, (_, i) => `nat:k${i}`))).toEqual(
        Array.from({ length: 10 }, (_, i) => String(i)),
      );
      // Non-idempotent: INCRs sent on a socket the NAT forgot may or may not have reached the
      // server, so they fail rather than run twice (the count proves it); the client then recovers.
      await sleep(IDLE_PAST_NAT_MS);
      const incrs = await Promise.allSettled(
        Array.from({ length: 10 }, () => client.execute((c) => c.incr('nat:counter'))),
      );
      const succeeded = incrs.filter((r) => r.status === 'fulfilled').length;
      expect(Number(await redis.command('GET', 'nat:counter'))).toBe(succeeded);
      expect(await client.execute((c) => c.incr('nat:counter'))).toBe(succeeded + 1);
    } finally {
      await client.drain(2_000);
    }
  });

  it('control: raw ioredis on the same path hangs on its first command after the idle period', async () => {
    const raw = new Redis(nat.url(redis.url), { lazyConnect: false });
    raw.on('error', () => {});
    try {
      await raw.ping();
      await sleep(IDLE_PAST_NAT_MS);
      expect(await settlesWithin(raw.get('nat:k0'), 8_000)).toBe('hung');
    } finally {
      raw.disconnect();
    }
  });

  it('keepalive faster than the NAT: the connection survives 8 s idle with no reconnect', async () => {
    const client = createRedis({ url: nat.url(redis.url), keepAliveMs: 1_000 });
    let reconnects = 0;
    client.client.on('reconnecting', () => reconnects++);
    try {
      const before = await client.execute((c) => (c as Redis).client('ID'), { idempotent: true });
      await sleep(8_000);
      const after = await client.execute((c) => (c as Redis).client('ID'), { idempotent: true });
      expect(after).toBe(before);
      expect(reconnects).toBe(0);
      expect(await client.execute((c) => c.incr('nat:survivor'))).toBe(1);
    } finally {
      await client.drain(2_000);
    }
  });
});
