import { createServer, type Server } from 'node:http';
import net from 'node:net';
import { EphemeralPostgres, EphemeralRedis, FaultProxy, freePort } from '@tether/devstack';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classify } from '../src/index.ts';
import { nextError, rejectionOf } from './errors-of.ts';

// Every error classified here is raised for real by pg, ioredis, node:net or fetch against real servers.

async function connected(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  return client;
}

async function listen(server: net.Server | Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as net.AddressInfo).port;
}

describe('classify() on errors raised by a real Postgres and node-postgres', () => {
  let postgres: EphemeralPostgres;
  beforeAll(async () => {
    postgres = await EphemeralPostgres.start({ settings: { deadlock_timeout: '100ms' } });
    await postgres.sql('CREATE TABLE accounts (id int PRIMARY KEY, balance int NOT NULL)');
    await postgres.sql('GRANT ALL ON accounts TO tether');
    await postgres.sql('INSERT INTO accounts VALUES (1, 100), (2, 100)');
  });
  afterAll(async () => {
    await postgres?.close();
  });

  it('a backend terminated mid-query raises 57P01; the dead client then refuses queries without sending them', async () => {
    const client = await connected(postgres.url);
    const socketError = nextError(client);
    client.on('error', () => {});
    const query = rejectionOf(client.query('SELECT pg_sleep(30)'));
    await expect
      .poll(() =>
        postgres
          .sql("SELECT 1 FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep%' AND state = 'active'")
          .then((r) => r.length),
      )
      .toBe(1);
    await postgres.terminateBackends();
    const error = await query;
    expect(classify(error)).toMatchObject({
      kind: 'transient',
      safety: 'idempotent',
      code: '57P01',
      retryTransaction: false,
    });
    await socketError;
    const refused = await rejectionOf(client.query('SELECT 1'));
    expect((refused as Error).message).toBe('Client has encountered a connection error and is not queryable');
    expect(classify(refused)).toMatchObject({ kind: 'transient', safety: 'always' });
  });

  it('an idle session closed by idle_session_timeout raises 57P05, safe to retry for anything', async () => {
    const client = await connected(postgres.url);
    const errors: unknown[] = [];
    client.on('error', (e) => errors.push(e));
    await client.query("SET idle_session_timeout = '200ms'");
    await expect.poll(() => errors.length, { timeout: 5000 }).toBeGreaterThan(0);
    expect(classify(errors[0])).toMatchObject({ kind: 'transient', safety: 'always', code: '57P05' });
  });

  it('a serialization failure raises 40001 and a deadlock 40P01: retry the whole transaction', async () => {
    const [a, b] = [await connected(postgres.url), await connected(postgres.url)];
    try {
      await a.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
      await a.query('SELECT balance FROM accounts WHERE id = 1');
      await b.query('UPDATE accounts SET balance = balance + 1 WHERE id = 1');
      const serialization = await rejectionOf(
        a.query('UPDATE accounts SET balance = balance - 1 WHERE id = 1'),
      );
      await a.query('ROLLBACK');
      expect(classify(serialization)).toMatchObject({
        kind: 'transient',
        retryTransaction: true,
        code: '40001',
        safety: 'never',
      });

      await a.query('BEGIN');
      await b.query('BEGIN');
      await a.query('UPDATE accounts SET balance = 0 WHERE id = 1');
      await b.query('UPDATE accounts SET balance = 0 WHERE id = 2');
      const outcomes = await Promise.allSettled([
        a.query('UPDATE accounts SET balance = 1 WHERE id = 2'),
        b.query('UPDATE accounts SET balance = 1 WHERE id = 1'),
      ]);
      await Promise.all([a.query('ROLLBACK'), b.query('ROLLBACK')]);
      const rejected = outcomes.filter((o) => o.status === 'rejected');
      // Postgres breaks the deadlock by failing exactly one of the two.
      expect(rejected).toHaveLength(1);
      const deadlock = rejected[0];
      expect(classify((deadlock as PromiseRejectedResult).reason)).toMatchObject({
        retryTransaction: true,
        code: '40P01',
      });
    } finally {
      await Promise.all([a.end(), b.end()]);
    }
  });

  it('a write in a read-only session raises 25006, a statement timeout 57014, a typo 42601', async () => {
    const client = await connected(postgres.url);
    try {
      await client.query('SET default_transaction_read_only = on');
      const readOnly = await rejectionOf(client.query('UPDATE accounts SET balance = 5 WHERE id = 1'));
      expect(classify(readOnly)).toMatchObject({ kind: 'transient', safety: 'always', code: '25006' });
      await client.query("SET statement_timeout = '50ms'");
      const cancelled = await rejectionOf(client.query('SELECT pg_sleep(5)'));
      expect(classify(cancelled)).toMatchObject({ kind: 'unknown', code: '57014' });
      const typo = await rejectionOf(client.query('SELEKT 1'));
      expect(classify(typo)).toMatchObject({ kind: 'permanent', safety: 'never', code: '42601' });
    } finally {
      await client.end();
    }
  });

  it('a connection over the role limit raises 53300 before anything runs', async () => {
    await postgres.sql('ALTER ROLE tether CONNECTION LIMIT 1');
    const holder = await connected(postgres.url);
    try {
      const error = await rejectionOf(connected(postgres.url));
      expect(classify(error)).toMatchObject({ kind: 'transient', safety: 'always', code: '53300' });
    } finally {
      await holder.end();
      await postgres.sql('ALTER ROLE tether CONNECTION LIMIT -1');
    }
  });

  it('pg-pool checkout timeout: nothing was sent, safe to retry', async () => {
    // The one connection is opened with a generous timeout (SCRAM takes a while on a loaded machine),
    // then the checkout timeout is made short for the caller who has to wait for it.
    const pool = new pg.Pool({ connectionString: postgres.url, max: 1, connectionTimeoutMillis: 10_000 });
    const held = await pool.connect();
    pool.options.connectionTimeoutMillis = 100;
    try {
      const error = await rejectionOf(pool.query('SELECT 1'));
      expect((error as Error).message).toBe('timeout exceeded when trying to connect');
      expect(classify(error)).toMatchObject({ kind: 'transient', safety: 'always' });
    } finally {
      held.release();
      await pool.end();
    }
  });

  it('a TCP reset mid-query (FaultProxy) raises ECONNRESET: the query may have run', async () => {
    const url = new URL(postgres.url);
    const proxy = await FaultProxy.start({ targetPort: Number(url.port) });
    url.port = String(proxy.port);
    const client = await connected(url.toString());
    client.on('error', () => {});
    try {
      const query = rejectionOf(client.query('SELECT pg_sleep(30)'));
      await expect.poll(() => proxy.connectionCount).toBe(1);
      proxy.reset();
      const error = await query;
      expect(classify(error)).toMatchObject({ kind: 'transient', safety: 'idempotent', code: 'ECONNRESET' });
    } finally {
      await proxy.close();
      await postgres.terminateBackends();
    }
  });

  it('a server stopped under a running query raises 57P01; connecting while it is down raises ECONNREFUSED', async () => {
    const client = await connected(postgres.url);
    client.on('error', () => {});
    const query = rejectionOf(client.query('SELECT pg_sleep(30)'));
    await expect
      .poll(() =>
        postgres
          .sql("SELECT 1 FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep%'")
          .then((r) => r.length),
      )
      .toBe(1);
    await postgres.stop();
    try {
      expect(classify(await query)).toMatchObject({ kind: 'transient', code: '57P01' });
      const refused = await rejectionOf(connected(postgres.url));
      expect(classify(refused)).toMatchObject({ kind: 'transient', safety: 'always', code: 'ECONNREFUSED' });
    } finally {
      await postgres.start();
    }
  });
});

describe('classify() on node-postgres errors from misbehaving servers', () => {
  it('a server that closes during start-up: "Connection terminated unexpectedly"', async () => {
    const server = net.createServer((socket) => socket.once('data', () => socket.end()));
    const port = await listen(server);
    try {
      const client = new pg.Client({ host: '127.0.0.1', port, user: 'u', database: 'd' });
      const error = await rejectionOf(client.connect());
      expect((error as Error).message).toBe('Connection terminated unexpectedly');
      expect(classify(error)).toMatchObject({ kind: 'transient', safety: 'idempotent' });
    } finally {
      server.close();
    }
  });

  it('a server that never answers: pg client and pg-pool connect timeouts are safe to retry', async () => {
    const sockets = new Set<net.Socket>();
    const server = net.createServer((socket) => sockets.add(socket));
    const port = await listen(server);
    const pool = new pg.Pool({
      host: '127.0.0.1',
      port,
      user: 'u',
      database: 'd',
      connectionTimeoutMillis: 100,
    });
    try {
      const client = new pg.Client({
        host: '127.0.0.1',
        port,
        user: 'u',
        database: 'd',
        connectionTimeoutMillis: 100,
      });
      const clientError = await rejectionOf(client.connect());
      expect(classify(clientError)).toMatchObject({
        kind: 'transient',
        safety: 'always',
        reason: 'pg connect timeout',
      });
      const poolError = await rejectionOf(pool.query('SELECT 1'));
      expect((poolError as Error).message).toBe('Connection terminated due to connection timeout');
      expect(classify(poolError)).toMatchObject({ kind: 'transient', safety: 'always' });
    } finally {
      await pool.end();
      for (const s of sockets) s.destroy();
      server.close();
    }
  });
});

describe('classify() on socket errors', () => {
  it('connecting to a closed port raises ECONNREFUSED (also through fetch and a multi-address host name)', async () => {
    const port = await freePort();
    const direct = await new Promise<unknown>((resolve) =>
      net.connect(port, '127.0.0.1').once('error', resolve),
    );
    expect(classify(direct)).toMatchObject({ kind: 'transient', safety: 'always', code: 'ECONNREFUSED' });

    const viaFetch = await rejectionOf(fetch(`http://127.0.0.1:${port}/`));
    expect(viaFetch).toBeInstanceOf(TypeError);
    expect(classify(viaFetch)).toMatchObject({ kind: 'transient', safety: 'always', code: 'ECONNREFUSED' });

    // 'localhost' may resolve to ::1 and 127.0.0.1: Node then reports an AggregateError (or the one error).
    const viaName = await new Promise<unknown>((resolve) =>
      net.connect({ port, host: 'localhost', autoSelectFamily: true }).once('error', resolve),
    );
    expect(classify(viaName)).toMatchObject({ kind: 'transient', safety: 'always' });
  });
});

describe('classify() on errors raised by a real Redis and ioredis', () => {
  let redis: EphemeralRedis;
  beforeAll(async () => {
    redis = await EphemeralRedis.start();
  });
  afterAll(async () => {
    await redis?.close();
  });

  it('a Redis restarted under a client: commands in flight and queued fail with MaxRetriesPerRequestError', async () => {
    const client = new Redis(redis.url, { maxRetriesPerRequest: 1 });
    client.on('error', () => {});
    try {
      await client.ping();
      const inFlight = rejectionOf(client.blpop('queue', 10));
      await expect.poll(async () => String(await redis.command('CLIENT', 'LIST'))).toContain('cmd=blpop');
      await redis.stop();
      const error = await inFlight;
      expect((error as Error).name).toBe('MaxRetriesPerRequestError');
      expect(classify(error)).toMatchObject({ kind: 'transient', safety: 'idempotent' });
    } finally {
      await redis.start();
      client.disconnect();
    }
  });

  it('a client without reconnects or offline queue: "Connection is closed."', async () => {
    await redis.stop();
    const client = new Redis(redis.url, {
      lazyConnect: true,
      enableOfflineQueue: false,
      retryStrategy: () => null,
    });
    client.on('error', () => {});
    try {
      const error = await rejectionOf(client.connect());
      expect((error as Error).message).toBe('Connection is closed.');
      expect(classify(error)).toMatchObject({ kind: 'transient' });
    } finally {
      await redis.start();
      client.disconnect();
    }
  });

  it('a write to a replica raises READONLY (what clients see during a failover)', async () => {
    const client = new Redis(redis.url);
    try {
      await redis.command('REPLICAOF', '127.0.0.1', await freePort());
      const error = await rejectionOf(client.set('k', 'v'));
      expect(classify(error)).toMatchObject({ kind: 'transient', safety: 'always', code: 'READONLY' });
    } finally {
      await redis.command('REPLICAOF', 'NO', 'ONE');
      client.disconnect();
    }
  });

  it('a frozen Redis (SIGSTOP) trips commandTimeout', async () => {
    const client = new Redis(redis.url, { commandTimeout: 100 });
    client.on('error', () => {});
    await client.ping();
    redis.pause();
    try {
      const error = await rejectionOf(client.get('k'));
      expect(classify(error)).toMatchObject({
        kind: 'transient',
        safety: 'idempotent',
        reason: 'ioredis commandTimeout',
      });
    } finally {
      redis.resume();
      client.disconnect();
    }
  });

  it('a wrong-type command is permanent', async () => {
    const client = new Redis(redis.url);
    try {
      await client.set('str', 'x');
      const error = await rejectionOf(client.lpush('str', 'y'));
      expect(classify(error)).toMatchObject({ kind: 'permanent', code: 'WRONGTYPE' });
    } finally {
      client.disconnect();
    }
  });
});

describe('classify() on real HTTP responses', () => {
  let server: Server;
  let base: string;
  beforeAll(async () => {
    server = createServer((req, res) => {
      const retryAfter = req.url === '/date' ? new Date(Date.now() + 30_000).toUTCString() : '7';
      res.writeHead(req.url === '/limited' ? 429 : 503, { 'retry-after': retryAfter }).end();
    });
    base = `http://127.0.0.1:${await listen(server)}`;
  });
  afterAll(() => {
    server.close();
  });

  it('503 with Retry-After in seconds', async () => {
    const response = await fetch(`${base}/`);
    expect(classify(response)).toMatchObject({
      kind: 'transient',
      safety: 'idempotent',
      code: '503',
      retryAfterMs: 7000,
    });
  });

  it('503 with Retry-After as an HTTP-date', async () => {
    const c = classify(await fetch(`${base}/date`));
    expect(c).toMatchObject({ kind: 'transient', code: '503' });
    expect(c.retryAfterMs).toBeGreaterThan(25_000);
    expect(c.retryAfterMs).toBeLessThanOrEqual(30_000);
  });

  it('429 from an error carrying the response (got/axios style): nothing was processed', async () => {
    const response = await fetch(`${base}/limited`);
    const error = Object.assign(new Error('Too Many Requests'), { response });
    expect(classify(error)).toMatchObject({
      kind: 'transient',
      safety: 'always',
      code: '429',
      retryAfterMs: 7000,
    });
  });
});
