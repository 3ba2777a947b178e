import { createServer, type Server } from 'node:net';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EphemeralPostgres, EphemeralRedis, freePort } from '../src/index.ts';

/** A real listener on 127.0.0.1 holding a port, as another process that won the race would. */
async function holdPort(): Promise<{ port: number; server: Server }> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { port: (server.address() as { port: number }).port, server };
}

/** Picks `taken` first (the race lost), then free ports; counts the picks. */
function pickerStartingWith(taken: number) {
  const picks: number[] = [];
  return {
    picks,
    pick: async () => {
      const port = picks.length === 0 ? taken : await freePort();
      picks.push(port);
      return port;
    },
  };
}

describe('free ports taken before the server binds them', () => {
  let held: { port: number; server: Server };
  beforeAll(async () => {
    held = await holdPort();
  });
  afterAll(() => held.server.close());

  it('the control: a server given a taken port fails, with a code that says so', async () => {
    await expect(EphemeralRedis.start({ port: held.port })).rejects.toMatchObject({
      code: 'TETHER_DEVSTACK_PORT_IN_USE',
    });
    await expect(EphemeralPostgres.start({ port: held.port })).rejects.toMatchObject({
      code: 'TETHER_DEVSTACK_PORT_IN_USE',
    });
  });

  it('Redis starts on another port when its pick was taken, and answers INCR on it', async () => {
    const { picks, pick } = pickerStartingWith(held.port);
    const redis = await EphemeralRedis.start({ freePort: { pick } });
    try {
      expect(picks).toHaveLength(2);
      expect(redis.port).toBe(picks[1]);
      expect(redis.port).not.toBe(held.port);
      expect(await redis.command('INCR', 'n')).toBe(1);
    } finally {
      await redis.close();
    }
  });

  it('Redis does not mistake another Redis that holds its port for itself', async () => {
    const other = await EphemeralRedis.start();
    const { picks, pick } = pickerStartingWith(other.port);
    const redis = await EphemeralRedis.start({ freePort: { pick } });
    try {
      expect(picks).toHaveLength(2);
      expect(redis.port).not.toBe(other.port);
      await redis.command('SET', 'owner', 'new');
      expect(await other.command('GET', 'owner')).toBeNull();
    } finally {
      await Promise.all([redis.close(), other.close()]);
    }
  });

  it('Postgres starts on another port when its pick was taken, and takes writes there', async () => {
    const { picks, pick } = pickerStartingWith(held.port);
    const pg = await EphemeralPostgres.start({ freePort: { pick } });
    try {
      expect(picks).toHaveLength(2);
      expect(pg.port).toBe(picks[1]);
      expect(pg.url).toContain(`:${picks[1]}/`);
      await pg.sql('CREATE TABLE t (id int PRIMARY KEY)');
      await pg.sql('INSERT INTO t VALUES (1)');
      expect(await pg.sql('SELECT count(*)::int AS n FROM t')).toMatchObject([{ n: 1 }]);
    } finally {
      await pg.close();
    }
  });

  it('gives up after the bounded number of picks', async () => {
    let picks = 0;
    const pick = async () => {
      picks++;
      return held.port;
    };
    await expect(EphemeralRedis.start({ freePort: { pick, attempts: 3 } })).rejects.toMatchObject({
      code: 'TETHER_DEVSTACK_PORT_IN_USE',
    });
    expect(picks).toBe(3);
  });
});
