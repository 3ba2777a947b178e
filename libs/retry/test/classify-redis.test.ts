import { EphemeralRedis, EphemeralRedisCluster, freePort } from '@tether/devstack';
import { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classify } from '../src/index.ts';
import { rejectionOf } from './errors-of.ts';

// Cluster errors raised for real by ioredis 6 against a real Redis Cluster (or, where a real one
// cannot be provoked on demand, built exactly as ioredis builds it).

describe('classify() on Redis Cluster errors', () => {
  let cluster: EphemeralRedisCluster;
  beforeAll(async () => {
    cluster = await EphemeralRedisCluster.start();
  }, 60_000);
  afterAll(async () => {
    await cluster?.close();
  });

  it('MOVED from a node that does not own the slot: refused, safe to retry', async () => {
    const owner = await cluster.nodeOf('moved-key');
    const other = cluster.nodes.find((n) => n !== owner) as EphemeralRedis;
    const plain = new Redis({ host: other.host, port: other.port, lazyConnect: true });
    try {
      const error = await rejectionOf(plain.incr('moved-key'));
      expect((error as Error).message).toMatch(/^MOVED \d+ /);
      expect(classify(error)).toMatchObject({ kind: 'transient', safety: 'always', code: 'MOVED' });
      expect(await owner.command('GET', 'moved-key')).toBeNull();
    } finally {
      plain.disconnect();
    }
  });

  it("CROSSSLOT is the command's own fault: permanent", async () => {
    const client = new Cluster(cluster.seeds);
    client.on('error', () => {});
    try {
      const error = await rejectionOf(client.mset('{a}x', '1', '{b}y', '2'));
      expect((error as Error).message).toMatch(/^CROSSSLOT/);
      expect(classify(error)).toMatchObject({ kind: 'permanent', code: 'CROSSSLOT' });
    } finally {
      client.disconnect();
    }
  });

  it('CLUSTERDOWN from a node whose slots are not served: refused, safe to retry', async () => {
    const lonely = await EphemeralRedis.start({ settings: { 'cluster-enabled': 'yes' } });
    try {
      const error = await rejectionOf(lonely.command('INCR', 'k'));
      expect((error as Error).message).toMatch(/^CLUSTERDOWN/);
      expect(classify(error)).toMatchObject({ kind: 'transient', safety: 'always', code: 'CLUSTERDOWN' });
    } finally {
      await lonely.close();
    }
  });

  it('"Cluster isn\'t ready…" (offline queue off, before the slot map is known): nothing sent', async () => {
    const client = new Cluster(cluster.seeds, { enableOfflineQueue: false, lazyConnect: true });
    client.on('error', () => {});
    try {
      const error = await rejectionOf(client.incr('never-sent'));
      expect((error as Error).message).toBe("Cluster isn't ready and enableOfflineQueue options is false");
      expect(classify(error)).toMatchObject({ kind: 'transient', safety: 'always' });
      const owner = await cluster.nodeOf('never-sent');
      expect(await owner.command('GET', 'never-sent')).toBeNull();
    } finally {
      client.disconnect();
    }
  });

  it('"None of startup nodes is available" (no seed answers): nothing sent', async () => {
    const client = new Cluster([{ host: '127.0.0.1', port: await freePort() }], {
      clusterRetryStrategy: () => null,
    });
    client.on('error', () => {});
    try {
      const error = await rejectionOf(client.incr('k'));
      expect((error as Error).message).toBe('None of startup nodes is available');
      expect(classify(error)).toMatchObject({ kind: 'transient', safety: 'always' });
    } finally {
      client.disconnect();
    }
  });

  it('redirections exhausted: safe only when every try was refused', () => {
    // ioredis: new Error("Too many Cluster redirections. Last error: " + error)
    const refused = new Error(
      `Too many Cluster redirections. Last error: ${new ReplyErrorLike('TRYAGAIN x')}`,
    );
    const closed = new Error(
      `Too many Cluster redirections. Last error: ${new Error('Connection is closed.')}`,
    );
    expect(classify(refused)).toMatchObject({ kind: 'transient', safety: 'always' });
    expect(classify(closed)).toMatchObject({ kind: 'transient', safety: 'idempotent' });
  });
});

/** String() of redis-errors' ReplyError is "ReplyError: <message>". */
class ReplyErrorLike extends Error {
  override name = 'ReplyError';
}
