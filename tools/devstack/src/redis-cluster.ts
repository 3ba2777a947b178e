import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { findRedis } from './binaries.ts';
import { DevstackError } from './errors.ts';
import { EphemeralRedis } from './redis.ts';

const run = promisify(execFile);

export interface RedisClusterOptions {
  /** Masters, each owning an equal share of the 16384 slots. Default 3 (the minimum Redis accepts). */
  masters?: number;
  /** `cluster-node-timeout`, ms: how long a master may be unreachable before the others mark it failed. Default 2000. */
  nodeTimeoutMs?: number;
  /** Bound on start-up and on every wait for `cluster_state:ok`, ms. Default 30000. */
  startTimeoutMs?: number;
}

/**
 * An ephemeral Redis Cluster of masters without replicas on 127.0.0.1, built the way an operator
 * builds one: `redis-server --cluster-enabled yes` per node, then `redis-cli --cluster create`.
 *
 * Every node keeps an append-only file fsynced on each write (`appendfsync always`), so a master
 * that is restarted or killed comes back with its slots (nodes.conf) *and* every write it
 * acknowledged: a test can count writes across a restart and trust the count.
 */
export class EphemeralRedisCluster {
  readonly nodes: readonly EphemeralRedis[];
  private readonly timeoutMs: number;

  private constructor(nodes: EphemeralRedis[], timeoutMs: number) {
    this.nodes = nodes;
    this.timeoutMs = timeoutMs;
  }

  /** Seed endpoints for a cluster client (every master). */
  get seeds(): { host: string; port: number }[] {
    return this.nodes.map((n) => ({ host: n.host, port: n.port }));
  }

  static async start(options: RedisClusterOptions = {}): Promise<EphemeralRedisCluster> {
    const masters = options.masters ?? 3;
    if (!Number.isInteger(masters) || masters < 3)
      throw new DevstackError(
        'TETHER_DEVSTACK_INVALID_OPTION',
        'masters must be an integer >= 3 (Redis needs three)',
      );
    const nodeTimeoutMs = options.nodeTimeoutMs ?? 2_000;
    const timeoutMs = options.startTimeoutMs ?? 30_000;
    const settings = {
      'cluster-enabled': 'yes',
      'cluster-config-file': 'nodes.conf',
      'cluster-node-timeout': nodeTimeoutMs,
      appendonly: 'yes',
      appendfsync: 'always',
    };
    const started = await Promise.allSettled(
      Array.from({ length: masters }, () => EphemeralRedis.start({ settings, startTimeoutMs: timeoutMs })),
    );
    const nodes = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    const failed = started.find((r) => r.status === 'rejected');
    if (failed) {
      await Promise.all(nodes.map((n) => n.close()));
      throw failed.reason;
    }
    const cluster = new EphemeralRedisCluster(nodes, timeoutMs);
    try {
      await run(
        redisCli(),
        ['--cluster', 'create', ...nodes.map((n) => `${n.host}:${n.port}`), '--cluster-yes'],
        { timeout: timeoutMs },
      );
      await cluster.waitUntilOk();
    } catch (error) {
      await cluster.close();
      throw new DevstackError(
        'TETHER_DEVSTACK_START',
        `redis cluster did not form: ${(error as Error).message}`,
        { cause: error },
      );
    }
    return cluster;
  }

  /**
   * Resolves once every running node reports `cluster_state:ok`, knows every node and sees all
   * 16384 slots served; rejects after the start timeout with the last CLUSTER INFO seen.
   */
  async waitUntilOk(timeoutMs = this.timeoutMs): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    let last = '';
    for (;;) {
      try {
        const infos = await Promise.all(this.nodes.map((n) => n.command('CLUSTER', 'INFO')));
        last = infos.map(String).join(' | ');
        if (infos.every((i) => isHealthy(String(i), this.nodes.length))) return;
      } catch (error) {
        last = (error as Error).message;
      }
      if (performance.now() > deadline)
        throw new Error(`cluster_state did not become ok within ${timeoutMs} ms: ${last}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** The node serving `key`'s slot (as the cluster sees it now). */
  async nodeOf(key: string): Promise<EphemeralRedis> {
    const slot = Number(await (this.nodes[0] as EphemeralRedis).command('CLUSTER', 'KEYSLOT', key));
    const slots = (await (this.nodes[0] as EphemeralRedis).command('CLUSTER', 'SLOTS')) as [
      number,
      number,
      [string, number],
    ][];
    const owner = slots.find(([from, to]) => slot >= from && slot <= to)?.[2][1];
    const node = this.nodes.find((n) => n.port === owner);
    if (!node) throw new Error(`no node serves slot ${slot} of ${key}`);
    return node;
  }

  /** Restarts one master (SIGTERM, down for `downMs`, start) and waits until the cluster is ok again. */
  async restartNode(index: number, downMs = 0): Promise<void> {
    await this.node(index).restart(downMs);
    await this.waitUntilOk();
  }

  /** SIGKILLs one master: a crash. `startNode()` brings it back with its slots and data. */
  async killNode(index: number): Promise<void> {
    await this.node(index).kill();
  }

  async startNode(index: number): Promise<void> {
    await this.node(index).start();
    await this.waitUntilOk();
  }

  async close(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.close()));
  }

  private node(index: number): EphemeralRedis {
    const node = this.nodes[index];
    if (!node) throw new DevstackError('TETHER_DEVSTACK_INVALID_OPTION', `no cluster node ${index}`);
    return node;
  }
}

function isHealthy(info: string, nodes: number): boolean {
  return (
    info.includes('cluster_state:ok') &&
    info.includes('cluster_slots_ok:16384') &&
    info.includes(`cluster_known_nodes:${nodes}`)
  );
}

/** `redis-cli` ships beside `redis-server` in every package (Debian, Homebrew, the tarball). */
function redisCli(): string {
  return join(dirname(findRedis()), 'redis-cli');
}
