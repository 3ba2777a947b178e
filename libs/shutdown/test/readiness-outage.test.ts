import { EphemeralPostgres, EphemeralRedis } from '@tether/devstack';
import { LoadBalancer } from '@tether/rollout-sim';
import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLifecycle, type Lifecycle } from '../src/index.ts';
import { get } from './support/fixture-process.ts';
import { memoryLogger } from './support/memory-logger.ts';

let postgres: EphemeralPostgres;
beforeAll(async () => {
  postgres = await EphemeralPostgres.start();
});
afterAll(() => postgres.close());

const cleanup: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

interface Replica {
  id: string;
  lifecycle: Lifecycle;
  admin: string;
  server: Server;
}

/**
 * One replica of an API as apps/api is built: every request needs Postgres, and an outage is
 * answered with the app's own 503 + Retry-After. Its readiness checks that same Postgres.
 */
async function replica(id: string, postgresCritical: boolean): Promise<Replica> {
  const pool = new pg.Pool({ connectionString: postgres.url, max: 2, connectionTimeoutMillis: 3000 });
  pool.on('error', () => undefined);
  const lifecycle = createLifecycle({
    signals: [],
    exit: () => undefined,
    logger: memoryLogger(),
    drainDelayMs: 0,
    // Generous for a loaded machine: a stopped server refuses at once, so the outage shows quickly anyway.
    readinessTimeoutMs: 3000,
    readinessCacheMs: 100,
  });
  lifecycle.addReadinessCheck(
    'postgres',
    async () => {
      await pool.query('SELECT 1');
    },
    { critical: postgresCritical },
  );
  const server = createServer((_req, res) => {
    pool.query('SELECT 1 AS ok').then(
      () => res.end(id),
      () => res.writeHead(503, { 'retry-after': '1' }).end('database unavailable'),
    );
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  lifecycle.trackHttpServer(server);
  const { port } = await lifecycle.listenAdmin(0, '127.0.0.1');
  lifecycle.startupComplete();
  cleanup.push(async () => {
    await lifecycle.shutdown('test over');
    await pool.end();
  });
  return { id, lifecycle, admin: `http://127.0.0.1:${port}`, server };
}

async function service(replicas: Replica[]): Promise<LoadBalancer> {
  const loadBalancer = await LoadBalancer.start({
    probePeriodMs: 100,
    probeTimeoutMs: 500,
    propagationDelayMs: 100,
  });
  cleanup.push(() => loadBalancer.close());
  for (const r of replicas) {
    loadBalancer.addEndpoint({
      id: r.id,
      host: '127.0.0.1',
      port: (r.server.address() as AddressInfo).port,
      readinessUrl: `${r.admin}/readyz`,
    });
  }
  for (const r of replicas) await loadBalancer.waitUntilRoutable(r.id, 10_000);
  return loadBalancer;
}

/** The Service answers 200 (pools warm): the baseline before the outage. */
async function answered(loadBalancer: LoadBalancer): Promise<void> {
  for (let i = 0; (await get(`${loadBalancer.url}/`)).status !== 200; i += 1) {
    expect(i).toBeLessThan(100);
    await sleep(100);
  }
}

/** Stops Postgres for real, then waits until every replica's check has seen it (or 10 s). */
async function postgresOutage(replicas: Replica[]): Promise<void> {
  await postgres.stop();
  cleanup.push(() => postgres.start());
  for (let i = 0; ; i += 1) {
    const bodies = await Promise.all(
      replicas.map(async (r) => JSON.parse((await get(`${r.admin}/readyz`)).body)),
    );
    if (bodies.every((b) => b.checks.postgres.ok === false)) break;
    expect(i).toBeLessThan(200);
    await sleep(50);
  }
  // Several probe periods and propagation delays: the Service has acted on whatever readiness says.
  await sleep(1000);
}

describe('readiness during a shared-dependency outage (Postgres stopped)', () => {
  it('a shared dependency is reported in /readyz but does not fail it: the Service keeps its endpoints and clients get the app’s 503 + Retry-After', async () => {
    const replicas = [await replica('api-a', false), await replica('api-b', false)];
    const loadBalancer = await service(replicas);
    await answered(loadBalancer);

    await postgresOutage(replicas);
    const readyz = await get(`${replicas[0]!.admin}/readyz`);
    expect(readyz.status).toBe(200);
    expect(JSON.parse(readyz.body)).toMatchObject({
      status: 'degraded',
      checks: { postgres: { ok: false, critical: false } },
    });
    expect(JSON.parse(readyz.body).checks.postgres.error).toBeTruthy();
    expect(loadBalancer.endpoints().every((e) => e.routable)).toBe(true);
    for (let i = 0; i < 4; i += 1) {
      const res = await get(`${loadBalancer.url}/`);
      expect(res.status).toBe(503);
      expect(res.headers['retry-after']).toBe('1');
    }
    expect(loadBalancer.stats.noEndpoint).toBe(0);

    await postgres.start();
    for (let i = 0; JSON.parse((await get(`${replicas[0]!.admin}/readyz`)).body).status !== 'ready'; i += 1) {
      expect(i).toBeLessThan(200);
      await sleep(50);
    }
  });

  it('CONTROL: with the shared dependency registered as critical, every replica turns unready and the Service has no endpoint: connections are refused instead of answered', async () => {
    const replicas = [await replica('api-a', true), await replica('api-b', true)];
    const loadBalancer = await service(replicas);
    await answered(loadBalancer);

    await postgresOutage(replicas);
    expect((await get(`${replicas[0]!.admin}/readyz`)).status).toBe(503);
    expect(loadBalancer.endpoints().some((e) => e.routable)).toBe(false);
    const outcome = await get(`${loadBalancer.url}/`).then(
      (res) => `HTTP ${res.status}`,
      (error: NodeJS.ErrnoException) => error.code,
    );
    expect(outcome).toBe('ECONNRESET');
    expect(loadBalancer.stats.noEndpoint).toBeGreaterThan(0);
  });
});

/** A real Redis PING over a plain socket: the check of a pod-private sidecar. */
function ping(port: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', signal });
    socket.once('error', reject);
    socket.once('data', (data) => {
      socket.end();
      if (data.toString().startsWith('+PONG')) resolve();
      else reject(new Error(`unexpected answer ${JSON.stringify(data.toString())}`));
    });
    socket.write('PING\r\n');
  });
}

describe('a critical check (a dependency private to the pod)', () => {
  it('fails /readyz while its sidecar is down and passes again once it is back', async () => {
    const sidecar = await EphemeralRedis.start();
    cleanup.push(() => sidecar.close());
    const port = Number(new URL(sidecar.url).port);
    const lifecycle = createLifecycle({
      signals: [],
      exit: () => undefined,
      logger: memoryLogger(),
      drainDelayMs: 0,
      readinessCacheMs: 100,
    });
    cleanup.push(() => lifecycle.shutdown('test over'));
    lifecycle.addReadinessCheck('local-cache', (signal) => ping(port, signal), { critical: true });
    lifecycle.startupComplete();
    const { port: adminPort } = await lifecycle.listenAdmin(0, '127.0.0.1');
    const url = `http://127.0.0.1:${adminPort}/readyz`;
    const until = async (status: number): Promise<string> => {
      for (let i = 0; ; i += 1) {
        const res = await get(url);
        if (res.status === status) return res.body;
        expect(i).toBeLessThan(200);
        await sleep(50);
      }
    };
    expect(JSON.parse(await until(200))).toMatchObject({
      status: 'ready',
      checks: { 'local-cache': { ok: true, critical: true } },
    });
    await sidecar.stop();
    expect(JSON.parse(await until(503))).toMatchObject({
      status: 'not ready',
      checks: { 'local-cache': { ok: false, critical: true } },
    });
    await sidecar.start();
    await until(200);
  });
});
