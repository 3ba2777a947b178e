import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { describe, expect, it } from 'vitest';
import { createLifecycle, type Lifecycle } from '../src/index.ts';
import { get } from './support/fixture-process.ts';
import { memoryLogger } from './support/memory-logger.ts';

function lifecycleForTest(drainDelayMs = 0): Lifecycle {
  return createLifecycle({ signals: [], exit: () => undefined, logger: memoryLogger(), drainDelayMs });
}

async function listen(server: Server): Promise<string> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('probes mounted on the app’s own server (one-port deployments)', () => {
  it('as Express middleware: /livez /readyz /startupz /metrics answered, every other path reaches the app', async () => {
    const lifecycle = lifecycleForTest();
    lifecycle.setMetricsHandler((_req, res) => res.end('up 1\n'));
    const app = express();
    app.use(lifecycle.probeHandler);
    app.get('/hello', (_req, res) => {
      res.send('hello from the app');
    });
    const server = lifecycle.trackHttpServer(app.listen(0, '127.0.0.1'));
    await once(server, 'listening');
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

    expect((await get(`${url}/startupz`)).status).toBe(503);
    expect((await get(`${url}/readyz`)).status).toBe(503);
    lifecycle.startupComplete();
    expect((await get(`${url}/startupz`)).status).toBe(200);
    const readyz = await get(`${url}/readyz`);
    expect(readyz.status).toBe(200);
    expect(JSON.parse(readyz.body)).toMatchObject({ status: 'ready' });
    expect((await get(`${url}/livez`)).status).toBe(200);
    expect((await get(`${url}/metrics`)).body).toBe('up 1\n');
    expect((await get(`${url}/hello`)).body).toBe('hello from the app');
    expect((await get(`${url}/readyz?verbose=1`)).status).toBe(200);
    expect((await get(`${url}/nope`)).status).toBe(404);
    await lifecycle.shutdown('test over');
  });

  it('in a node:http handler: true when it answered; readiness turns 503 on the same port during the drain', async () => {
    const lifecycle = lifecycleForTest(500);
    const server = lifecycle.trackHttpServer(
      createServer((req, res) => {
        if (lifecycle.probeHandler(req, res)) return;
        res.end('app');
      }),
    );
    const url = await listen(server);
    lifecycle.startupComplete();
    expect((await get(`${url}/readyz`)).status).toBe(200);
    expect((await get(`${url}/`)).body).toBe('app');

    const done = lifecycle.shutdown('test');
    const draining = await get(`${url}/readyz`);
    expect(draining.status).toBe(503);
    expect(JSON.parse(draining.body)).toMatchObject({ status: 'shutting down' });
    expect(draining.headers.connection).toBe('close');
    expect((await get(`${url}/livez`)).status).toBe(200);
    expect(await done).toBe(0);
  });
});

describe('manual not-ready switch', () => {
  it('signalNotReady() fails /readyz (liveness untouched) with its reason; signalReady() restores it, but never over a shutdown', async () => {
    const lifecycle = lifecycleForTest(1000);
    lifecycle.startupComplete();
    const { port } = await lifecycle.listenAdmin(0, '127.0.0.1');
    const url = `http://127.0.0.1:${port}`;
    expect((await get(`${url}/readyz`)).status).toBe(200);

    lifecycle.signalNotReady('rebuilding the local cache');
    const off = await get(`${url}/readyz`);
    expect(off.status).toBe(503);
    expect(JSON.parse(off.body)).toMatchObject({
      status: 'not ready',
      checks: { manual: { ok: false, error: 'rebuilding the local cache' } },
    });
    expect((await get(`${url}/livez`)).status).toBe(200);
    expect((await get(`${url}/startupz`)).status).toBe(200);

    lifecycle.signalReady();
    expect((await get(`${url}/readyz`)).status).toBe(200);
    expect(() => lifecycle.addReadinessCheck('manual', () => undefined)).toThrow(/built in/);

    const done = lifecycle.shutdown('test');
    lifecycle.signalReady();
    expect((await get(`${url}/readyz`)).status).toBe(503);
    expect(await done).toBe(0);
  });
});
