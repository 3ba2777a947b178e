import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EphemeralRedisCluster } from '../src/index.ts';

describe('EphemeralRedisCluster', () => {
  let cluster: EphemeralRedisCluster;
  beforeAll(async () => {
    cluster = await EphemeralRedisCluster.start();
  }, 60_000);
  afterAll(async () => {
    await cluster?.close();
  });

  it('forms a 3-master cluster with every slot served', async () => {
    expect(cluster.nodes).toHaveLength(3);
    for (const node of cluster.nodes) {
      const info = String(await node.command('CLUSTER', 'INFO'));
      expect(info).toContain('cluster_state:ok');
      expect(info).toContain('cluster_slots_assigned:16384');
      expect(info).toContain('cluster_size:3');
      expect(String(await node.command('ROLE'))).toMatch(/^master/);
    }
  });

  it('routes keys to their master, and a restarted master keeps its slots and acknowledged writes', async () => {
    const client = new Cluster(cluster.seeds);
    client.on('error', () => {});
    try {
      const keys = Array.from({ length: 30 }, (_, i) => `k${i}`);
      for (const key of keys) await client.incrby(key, 7);
      const owners = new Set(await Promise.all(keys.map(async (k) => (await cluster.nodeOf(k)).port)));
      expect(owners.size).toBe(3);
      const first = await cluster.nodeOf('k0');
      // Not a cluster redirect: the owner answers for its own key.
      expect(await first.command('GET', 'k0')).toBe('7');

      const index = cluster.nodes.indexOf(first);
      await cluster.killNode(index);
      await expect(first.command('PING')).rejects.toThrow();
      await cluster.startNode(index);
      expect(await first.command('GET', 'k0')).toBe('7');
      expect((await cluster.nodeOf('k0')).port).toBe(first.port);
      for (const key of keys) expect(await client.get(key)).toBe('7');
    } finally {
      client.disconnect();
    }
  });

  it('rejects fewer than three masters with a clear error', async () => {
    await expect(EphemeralRedisCluster.start({ masters: 2 })).rejects.toMatchObject({
      code: 'TETHER_DEVSTACK_INVALID_OPTION',
      message: expect.stringContaining('masters'),
    });
  });
});
