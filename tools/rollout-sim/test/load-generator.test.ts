import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { runLoad } from '../src/index.ts';

describe('runLoad', () => {
  it('sends at the fixed rate over keep-alive and classifies every outcome', async () => {
    let n = 0;
    const server = createServer((_req, res) => {
      n += 1;
      if (n % 4 === 0) {
        res.statusCode = 503;
        return res.end();
      }
      if (n % 4 === 1) res.setHeader('x-pod', 'a');
      res.end('ok');
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const report = await runLoad({
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
      ratePerSec: 200,
      durationMs: 1000,
      maxSockets: 4,
    });
    server.close();
    expect(report.sent).toBeGreaterThanOrEqual(190);
    expect(report.sent).toBeLessThanOrEqual(200);
    expect(report.succeeded + report.failed).toBe(report.sent);
    expect(report.failures['status 503']).toBe(Math.floor(report.sent / 4));
    expect(report.byResponder.a).toBe(Math.ceil(report.sent / 4));
    expect(report.connectionsOpened).toBeLessThanOrEqual(4);
  });

  it('opens one connection per request with keepAlive false, each seen by the server as new', async () => {
    const peers = new Set<string>();
    // Slow enough that a pool of 2 sockets would queue requests (maxSockets is not used here).
    const server = createServer((req, res) => {
      peers.add(`${req.socket.remotePort}`);
      setTimeout(() => res.end(), 5);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const report = await runLoad({
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
      ratePerSec: 400,
      durationMs: 300,
      maxSockets: 2,
      keepAlive: false,
    });
    server.close();
    expect(report.sent).toBeGreaterThan(10);
    expect(report.succeeded).toBe(report.sent);
    expect(report.connectionsOpened).toBe(report.sent);
    expect(peers.size).toBe(report.sent);
    await expect(
      runLoad({ url: 'http://127.0.0.1:1/', ratePerSec: 1, durationMs: 10, keepAlive: 'no' as never }),
    ).rejects.toThrow(/keepAlive/);
  });

  it('with keepAlive false no request waits for another: a server slower than the pool allows fails nothing', async () => {
    // 200 ms per answer: a pool of 2 connections serves 10 requests/s, the load asks for 50/s.
    const server = createServer((_req, res) => setTimeout(() => res.end('ok'), 200));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    const load = { url, ratePerSec: 50, durationMs: 2000, maxSockets: 2, timeoutMs: 3000 };
    const independent = await runLoad({ ...load, keepAlive: false });
    // Control: the bounded keep-alive pool is one FIFO queue; its wait passes the timeout within a
    // second, and from then on requests expire in it or right after leaving it.
    const pooled = await runLoad({ ...load, keepAlive: true });
    server.close();
    expect(independent.sent).toBeGreaterThanOrEqual(95);
    expect(independent.failures).toEqual({});
    expect(independent.succeeded).toBe(independent.sent);
    expect(pooled.failures['timeout']).toBeGreaterThan(pooled.sent / 4);
  });

  it('counts connection failures by error code', async () => {
    const server = createServer((req) => req.socket.destroy());
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const report = await runLoad({
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
      ratePerSec: 50,
      durationMs: 200,
    });
    server.close();
    expect(report.failed).toBe(report.sent);
    expect(report.failures.ECONNRESET).toBe(report.sent);
  });

  it('rejects a bad option with its name', async () => {
    await expect(runLoad({ url: 'http://127.0.0.1:1/', ratePerSec: 0, durationMs: 10 })).rejects.toThrow(
      /ratePerSec/,
    );
  });
});
