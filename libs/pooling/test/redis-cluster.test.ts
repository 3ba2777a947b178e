import { setTimeout as sleep } from 'node:timers/promises';
import { EphemeralRedisCluster } from '@tether/devstack';
import { classify } from '@tether/retry';
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createRedis } from '../src/index.ts';
import { CaptureLogger } from './capture-logger.ts';
import { describeErrors, steadyLoad } from './load.ts';
import { IncrLedger } from './redis-writes.ts';

// Redis Cluster end to end: three masters (no replicas), one restarted under traffic. Writes are
// INCRs on a key of their own, so each key's final value says how often its write was applied.

let cluster: EphemeralRedisCluster;

beforeAll(async () => {
  cluster = await EphemeralRedisCluster.start();
  reader = new Cluster(cluster.seeds, { maxRedirections: 100 });
  reader.on('error', () => {});
}, 60_000);
beforeEach(async () => {
  for (const node of cluster.nodes) await node.command('FLUSHALL');
});
afterAll(async () => {
  reader?.disconnect();
  await cluster?.close();
});

let reader: Cluster;

async function valueOf(key: string): Promise<number> {
  return Number((await (await cluster.nodeOf(key)).command('GET', key)) ?? 0);
}

// Lua that INCRs, then keeps the node busy for 600 ms: the write is applied before the reply leaves.
const INCR_THEN_BUSY =
  'redis.call("INCR", KEYS[1]) local t = redis.call("TIME") while true do local n = redis.call("TIME") if (n[1] - t[1]) * 1000000 + (n[2] - t[2]) > 600000 then return 1 end end';

/** Restarts the master of `key` while a write to it runs there (SIGTERM waits for the script). */
async function restartDuringWrite(key: string, write: () => Promise<unknown>): Promise<unknown> {
  const owner = await cluster.nodeOf(key);
  const index = cluster.nodes.indexOf(owner);
  const call = write().then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  await sleep(200);
  await cluster.restartNode(index, 300);
  return call;
}

describe('createRedis in Cluster mode', () => {
  it('a master restarted under ~150 ops/s: reads see no error; each INCR applied at most once, and exactly once when it succeeded', async () => {
    const redis = createRedis({ cluster: cluster.seeds, deadlineMs: 15_000, logger: new CaptureLogger() });
    try {
      await redis.ping();
      let n = 0;
      const ledger = new IncrLedger('write');
      const reads = steadyLoad(
        () => redis.execute((c) => c.get(`read:${n++ % 50}`), { idempotent: true }),
        75,
      );
      const incrs = steadyLoad(() => ledger.write((key) => redis.execute((c) => c.incr(key))), 75);
      await sleep(500);
      const restartedAt = performance.now();
      await cluster.restartNode(0, 1_000);
      await sleep(1_000);
      const readResult = await reads.stop();
      const writeResult = await incrs.stop();

      expect(readResult.errors, describeErrors(readResult.errors)).toHaveLength(0);
      expect(writeResult.successTimes.filter((t) => t > restartedAt).length).toBeGreaterThan(50);
      const tally = await ledger.reconcile((keys) => Promise.all(keys.map((k) => reader.get(k))));
      expect(tally.ok + tally.notSent + tally.unknown).toBe(ledger.size);
      expect(tally.ok).toBeGreaterThan(ledger.size * 0.5);
    } finally {
      await redis.drain(2_000);
    }
  });

  it('pipelines and MULTI on one slot run through the attempt view', async () => {
    const redis = createRedis({ cluster: cluster.seeds, logger: new CaptureLogger() });
    try {
      // A pipeline reports per-command errors in its result instead of rejecting: connect first.
      await redis.ping();
      await expect(redis.execute((c) => c.pipeline().incr('{t}a').incr('{t}b').exec())).resolves.toEqual([
        [null, 1],
        [null, 1],
      ]);
      await expect(redis.execute((c) => c.multi().incr('{t}a').get('{t}a').exec())).resolves.toEqual([
        [null, 2],
        [null, '2'],
      ]);
    } finally {
      await redis.drain(2_000);
    }
  });

  it('the master restarts with an INCR applied but unanswered: the caller gets an error, the write counts once', async () => {
    const redis = createRedis({ cluster: cluster.seeds, deadlineMs: 15_000, logger: new CaptureLogger() });
    try {
      await redis.ping();
      const outcome = (await restartDuringWrite('inflight', () =>
        redis.execute((c) => c.eval(INCR_THEN_BUSY, 1, 'inflight')),
      )) as { error?: unknown };
      expect(classify(outcome.error)).toMatchObject({ kind: 'transient', safety: 'idempotent' });
      expect(await valueOf('inflight')).toBe(1);
      // The client recovered: the next write lands, once.
      await expect(redis.execute((c) => c.incr('inflight'))).resolves.toBe(2);
    } finally {
      await redis.drain(2_000);
    }
  });

  it("CONTROL: ioredis' Cluster defaults re-send that write on another node and report success for a write applied twice", async () => {
    // Default options but for more redirections, so that its re-sends outlast the restart (the
    // restarted master answers CLUSTERDOWN until it has rejoined).
    const raw = new Cluster(cluster.seeds, { maxRedirections: 100 });
    raw.on('error', () => {});
    try {
      await raw.ping();
      const outcome = (await restartDuringWrite('inflight', () =>
        raw.eval(INCR_THEN_BUSY, 1, 'inflight'),
      )) as { value?: unknown; error?: unknown };
      expect(outcome.value, String(outcome.error)).toBe(1);
      expect(await valueOf('inflight')).toBe(2);
    } finally {
      raw.disconnect();
    }
  });
});
