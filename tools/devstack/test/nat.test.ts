import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { connect } from 'node:net';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EphemeralRedis, NatPath, natPrerequisites } from '../src/index.ts';

type Outcome = 'reply' | 'silent' | 'reset' | 'closed';

/**
 * One Redis connection through `nat`: PING, stay idle for `idleMs`, PING again and report how the
 * second PING ended. Keepalive off unless `keepAliveMs` is given.
 */
function pingAfterIdle(nat: NatPath, port: number, idleMs: number, keepAliveMs?: number): Promise<Outcome> {
  return new Promise((resolve) => {
    const socket = connect({ host: nat.host, port });
    socket.setKeepAlive(keepAliveMs !== undefined, keepAliveMs ?? 0);
    let replies = 0;
    let waitTimer: NodeJS.Timeout | undefined;
    const finish = (outcome: Outcome) => {
      clearTimeout(waitTimer);
      socket.destroy();
      resolve(outcome);
    };
    socket.on('data', () => {
      replies++;
      if (replies > 1) return finish('reply');
      setTimeout(() => {
        socket.write('PING\r\n');
        waitTimer = setTimeout(() => finish('silent'), 3_000);
      }, idleMs);
    });
    socket.on('error', (error: NodeJS.ErrnoException) =>
      finish(error.code === 'ECONNRESET' ? 'reset' : 'closed'),
    );
    socket.on('end', () => finish('closed'));
    socket.write('PING\r\n');
  });
}

function linkExists(name: string): boolean {
  try {
    execFileSync('ip', ['link', 'show', name], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function nftTables(): string {
  return execFileSync('nft', ['list', 'tables'], { encoding: 'utf8' });
}

async function until(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return check();
}

describe('NatPath', () => {
  it('has its prerequisites on this machine (root, iproute2, nftables, util-linux)', () => {
    expect(natPrerequisites()).toEqual([]);
  });

  describe('through a NAT that forgets flows idle for 3 s', () => {
    let redis: EphemeralRedis;
    let nat: NatPath;
    beforeAll(async () => {
      redis = await EphemeralRedis.start();
      nat = await NatPath.create({ idleTimeoutS: 3, ports: [redis.port] });
    });
    afterAll(async () => {
      await nat?.close();
      await redis?.close();
    });

    it('reaches the loopback server as a loopback client', async () => {
      const clients = String(await redis.command('CLIENT', 'LIST'));
      expect(await pingAfterIdle(nat, redis.port, 100)).toBe('reply');
      expect(clients).toContain('addr=127.0.0.1:');
    });

    it('a flow idle for 1.5 s still answers; one idle for 5 s gets neither a reply nor a reset; keepalive every 1 s keeps it', async () => {
      const [short, long, keptAlive] = await Promise.all([
        pingAfterIdle(nat, redis.port, 1_500),
        pingAfterIdle(nat, redis.port, 5_000),
        pingAfterIdle(nat, redis.port, 5_000, 1_000),
      ]);
      expect({ short, long, keptAlive }).toEqual({ short: 'reply', long: 'silent', keptAlive: 'reply' });
    });

    it("applies a new idle timeout from each flow's next packet on", async () => {
      nat.setIdleTimeout(8);
      try {
        expect(await pingAfterIdle(nat, redis.port, 5_000)).toBe('reply');
      } finally {
        nat.setIdleTimeout(3);
      }
    });

    it('rewrites loopback URLs only', () => {
      expect(nat.url(`redis://:s3cret@127.0.0.1:${redis.port}/0`)).toBe(
        `redis://:s3cret@${nat.host}:${redis.port}/0`,
      );
      expect(() => nat.url('postgres://db.example.com:5432/x')).toThrow(/only loopback servers/);
    });
  });

  it('rejects bad options with a message naming the option', async () => {
    await expect(NatPath.create({ idleTimeoutS: 0.5, ports: [1] })).rejects.toThrow(/idleTimeoutS must be/);
    await expect(NatPath.create({ idleTimeoutS: 5, ports: [] })).rejects.toThrow(/ports must list/);
    await expect(NatPath.create({ idleTimeoutS: 5, ports: [70_000] })).rejects.toThrow(/ports must list/);
  });

  it('leaves no link, namespace or nftables table behind when its owner is killed with SIGKILL', async () => {
    const child = spawn(
      process.execPath,
      ['--conditions=@tether/source', new URL('./fixtures/nat-owner.ts', import.meta.url).pathname],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const [line] = (await once(createInterface({ input: child.stdout }), 'line')) as [string];
    const made = JSON.parse(line) as { hostLink: string; nftTable: string };
    expect(linkExists(made.hostLink)).toBe(true);
    expect(nftTables()).toContain(made.nftTable);
    child.kill('SIGKILL');
    await once(child, 'exit');
    expect(await until(() => !linkExists(made.hostLink), 15_000)).toBe(true);
    expect(await until(() => !nftTables().includes(made.nftTable), 5_000)).toBe(true);
  });

  it('leaves nothing behind after close()', async () => {
    const nat = await NatPath.create({ idleTimeoutS: 5, ports: [6379] });
    await nat.close();
    expect(await until(() => !linkExists(nat.hostLink), 5_000)).toBe(true);
    expect(nftTables()).not.toContain(nat.nftTable);
  });
});
