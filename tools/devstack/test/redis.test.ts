import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EphemeralRedis } from '../src/index.ts';

describe('EphemeralRedis', () => {
  let server: EphemeralRedis;
  beforeAll(async () => {
    server = await EphemeralRedis.start({ settings: { 'maxmemory-policy': 'noeviction' } });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('runs commands, keeps nothing on disk and applies CONFIG SET', async () => {
    expect(await server.command('SET', 'k', 'v')).toBe('OK');
    expect(await server.command('GET', 'k')).toBe('v');
    expect(await server.command('CONFIG', 'GET', 'save')).toEqual(['save', '']);
    expect(await server.command('CONFIG', 'GET', 'maxmemory-policy')).toEqual([
      'maxmemory-policy',
      'noeviction',
    ]);
    await server.configSet('timeout', 3);
    expect(await server.command('CONFIG', 'GET', 'timeout')).toEqual(['timeout', '3']);
  });

  it('kills client connections, restarts (losing data) and recovers after kill -9', async () => {
    const client = new Redis(server.url, {
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      lazyConnect: true,
    });
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    client.on('error', () => {});
    await client.connect();
    expect(await server.killClients()).toBeGreaterThanOrEqual(1);
    await closed;
    client.disconnect();

    await server.restart();
    expect(await server.command('GET', 'k')).toBeNull();
    const pid = server.pid as number;
    await server.kill();
    expect(() => process.kill(pid, 0)).toThrow();
    await expect(server.command('PING')).rejects.toThrow();
    await server.start();
    expect(await server.command('PING')).toBe('PONG');
  });

  it('pauses without closing sockets', async () => {
    const client = new Redis(server.url, { commandTimeout: 300, maxRetriesPerRequest: 0 });
    client.on('error', () => {});
    await client.ping();
    server.pause();
    try {
      await expect(client.ping()).rejects.toThrow(/timed out/i);
    } finally {
      server.resume();
    }
    expect(await client.ping()).toBe('PONG');
    client.disconnect();
  });
});
