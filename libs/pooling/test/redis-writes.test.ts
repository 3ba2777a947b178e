import { setTimeout as sleep } from 'node:timers/promises';
import { EphemeralRedis, FaultProxy } from '@tether/devstack';
import { classify } from '@tether/retry';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedis, type TetherRedis } from '../src/index.ts';
import { CaptureLogger } from './capture-logger.ts';
import { steadyLoad } from './load.ts';
import { IncrLedger } from './redis-writes.ts';

// The fault scenarios of redis.test.ts and redis-blackhole.test.ts (which prove "0 errors" for
// idempotent work) again with non-idempotent writes: no INCR applied twice, each one succeeded
// exactly once or its caller got an error (outcome-unknown errors reconciled and counted apart).

let server: EphemeralRedis;

beforeAll(async () => {
  // Persisted on every write, so a restart keeps what was acknowledged and the counts stay true.
  server = await EphemeralRedis.start({ settings: { appendonly: 'yes', appendfsync: 'always' } });
});
afterAll(async () => {
  await server?.close();
});

function client(url = server.url, deadlineMs = 5_000): TetherRedis {
  return createRedis({ url, deadlineMs, logger: new CaptureLogger() });
}

const readBack = (keys: string[]) => server.command('MGET', ...keys) as Promise<(string | null)[]>;

describe('non-idempotent writes (INCR) under server-side faults', () => {
  it('all connections killed, before and in the middle of 200 INCRs: none applied twice, none lost silently', async () => {
    const redis = client();
    const ledger = new IncrLedger('killed');
    try {
      await redis.ping();
      expect(await server.killClients()).toBeGreaterThanOrEqual(1);
      for (let wave = 0; wave < 10; wave++) {
        const writes = Array.from({ length: 20 }, () =>
          ledger.write((key) => redis.execute((c) => c.incr(key))),
        );
        if (wave === 5) expect(await server.killClients()).toBeGreaterThanOrEqual(1);
        await Promise.allSettled(writes);
      }
      expect(ledger.size).toBe(200);
      const tally = await ledger.reconcile(readBack);
      // Refused-unsent writes were retried: only writes in flight at the second kill may be unknown.
      expect(tally.notSent).toBe(0);
      expect(tally.unknown).toBeLessThanOrEqual(20);
      expect(tally.ok).toBe(200 - tally.unknown);
    } finally {
      await redis.drain();
    }
  });

  it('Redis restarted under ~200 INCRs/s: none applied twice; writes after the restart succeed', async () => {
    const redis = client(server.url, 10_000);
    const ledger = new IncrLedger('restart');
    try {
      await redis.ping();
      const load = steadyLoad(() => ledger.write((key) => redis.execute((c) => c.incr(key))), 200);
      await sleep(500);
      await server.stop();
      await sleep(1_000);
      await server.start();
      const backAt = performance.now();
      await sleep(1_000);
      const result = await load.stop();
      expect(result.successTimes.filter((t) => t > backAt).length).toBeGreaterThan(100);
      const tally = await ledger.reconcile(readBack);
      expect(tally.ok + tally.notSent + tally.unknown).toBe(ledger.size);
      // Writes refused while Redis was down were retried until it was back, not failed.
      expect(tally.notSent).toBe(0);
      expect(tally.ok).toBeGreaterThan(ledger.size * 0.9);
    } finally {
      await redis.drain();
    }
  });

  it('READONLY from a demoted node: the INCR is refused unapplied, retried, and lands once after the promotion', async () => {
    const replica = await EphemeralRedis.start({ settings: { replicaof: `${server.host} ${server.port}` } });
    const redis = client(replica.url);
    try {
      await redis.ping();
      const write = redis.execute((c) => c.incr('failover:count'));
      await sleep(300);
      expect(await replica.command('GET', 'failover:count')).toBeNull();
      await replica.command('REPLICAOF', 'NO', 'ONE');
      await expect(write).resolves.toBe(1);
      expect(await replica.command('GET', 'failover:count')).toBe('1');
    } finally {
      await redis.drain();
      await replica.close();
    }
  });

  it('connection blackholed: the INCR fails within its deadline as outcome-unknown (never retried), the next one succeeds, nothing twice', async () => {
    const proxy = await FaultProxy.start({ targetPort: server.port });
    const redis = client(`redis://127.0.0.1:${proxy.port}`);
    const ledger = new IncrLedger('blackhole');
    try {
      await ledger.write((key) => redis.execute((c) => c.incr(key)));
      proxy.blackhole();
      const startedAt = performance.now();
      const error = await ledger
        .write((key) => redis.execute((c) => c.incr(key)))
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(performance.now() - startedAt).toBeLessThan(5_000);
      // Command or socket timeout: the INCR may have run, so it was not retried.
      expect(classify(error)).toMatchObject({ kind: 'transient', safety: 'idempotent' });
      await proxy.heal();
      // The dead connection is found out by the next bytes sent on it: let an idempotent PING do that.
      await redis.ping();
      await ledger.write((key) => redis.execute((c) => c.incr(key)));
      expect(await ledger.reconcile(readBack)).toMatchObject({ ok: 2, notSent: 0, unknown: 1 });
    } finally {
      await redis.drain(1_000);
      await proxy.close();
    }
  });
});
