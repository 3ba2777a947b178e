import { setTimeout as sleep } from 'node:timers/promises';
import { EphemeralRedis } from '@tether/devstack';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedis } from '../src/index.ts';
import { CaptureLogger } from './capture-logger.ts';
import { describeErrors, eventually, steadyLoad } from './load.ts';
import { IncrLedger } from './redis-writes.ts';
import { SentinelServer } from './sentinel-server.ts';

/**
 * A command on the promoted replica through a fresh admin connection. Sentinel may still be
 * reconfiguring it (it kills client connections on a role change): try again for a few seconds.
 */
async function onReplica(...args: string[]): Promise<unknown> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await replica.command(...args);
    } catch (error) {
      if (attempt >= 30) throw error;
      await sleep(100);
    }
  }
}

/** The write was applied on the master but the replica did not confirm it: it may be lost on failover. */
class UnconfirmedWriteError extends Error {
  constructor(key: string) {
    super(`${key}: not confirmed by a replica (WAIT 1 20 returned 0)`);
    this.name = 'UnconfirmedWriteError';
  }
}

const MASTER = 'tether-master';
let master: EphemeralRedis;
let replica: EphemeralRedis;
let sentinel: SentinelServer;

beforeAll(async () => {
  master = await EphemeralRedis.start();
  replica = await EphemeralRedis.start({ settings: { replicaof: `${master.host} ${master.port}` } });
  expect(
    await eventually(
      async () => String(await replica.command('INFO', 'replication')).includes('master_link_status:up'),
      10_000,
      100,
    ),
  ).toBe(true);
  sentinel = await SentinelServer.start(MASTER, master.port);
  const admin = new Redis({ host: sentinel.host, port: sentinel.port, lazyConnect: true });
  try {
    // Sentinel learns about replicas from the master's INFO; wait until it could fail over.
    expect(
      await eventually(
        async () => ((await admin.call('SENTINEL', 'REPLICAS', MASTER)) as unknown[]).length === 1,
        15_000,
        200,
      ),
    ).toBe(true);
  } finally {
    admin.disconnect();
  }
});

afterAll(async () => {
  await sentinel?.close();
  await replica?.close();
  await master?.close();
});

describe('createRedis with Sentinel', () => {
  it('follows a failover: the master is killed, Sentinel promotes the replica, idempotent writes see no error, no INCR applied twice', async () => {
    const redis = createRedis({
      sentinels: [{ host: sentinel.host, port: sentinel.port }],
      sentinelMasterName: MASTER,
      deadlineMs: 15_000,
      logger: new CaptureLogger(),
    });
    // Non-idempotent writes alongside, on a client of their own: INCR on a key of its own, then WAIT
    // for the replica. Redis replicates asynchronously, so a write the killed master acknowledged but
    // had not replicated is lost by design: only writes the replica confirmed (WAIT >= 1) must
    // survive. (WAIT blocks its connection until the timeout once the new master has no replica:
    // short, and not on the connection of the reads above.)
    const writer = createRedis({
      sentinels: [{ host: sentinel.host, port: sentinel.port }],
      sentinelMasterName: MASTER,
      deadlineMs: 15_000,
      logger: new CaptureLogger(),
    });
    const ledger = new IncrLedger('sentinel');
    try {
      await redis.execute((c) => c.set('failover', 'before'), { idempotent: true });
      let n = 0;
      const load = steadyLoad(
        () => redis.execute((c) => c.set('failover', String(n++)), { idempotent: true }),
        50,
      );
      const writes = steadyLoad(
        () =>
          ledger.write((key) =>
            writer.execute(async (c) => {
              const value = await c.incr(key);
              if ((await c.wait(1, 20)) < 1) throw new UnconfirmedWriteError(key);
              return value;
            }),
          ),
        20,
      );
      await sleep(300);
      await master.kill();
      // Sentinel: 1 s to declare the master down, then the election and the promotion.
      expect(
        await eventually(async () => String(await replica.command('ROLE')).startsWith('master'), 15_000, 100),
      ).toBe(true);
      await sleep(1_500);
      const result = await load.stop();
      await writes.stop();
      expect(result.errors, describeErrors(result.errors)).toHaveLength(0);
      const tally = await ledger.reconcile(
        (keys) => onReplica('MGET', ...keys) as Promise<(string | null)[]>,
      );
      // Confirmed before the kill; writes after it are unconfirmed (the new master has no replica).
      expect(tally.ok).toBeGreaterThan(5);
      expect(tally.ok + tally.notSent + tally.unknown).toBe(ledger.size);
      // The writes after the failover landed on the promoted replica.
      expect(Number(await onReplica('GET', 'failover'))).toBeGreaterThan(0);
    } finally {
      await redis.drain(2_000);
      await writer.drain(2_000);
    }
  });
});
