import { once } from 'node:events';
import { createServer as createHttp2Server, connect as connectHttp2 } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { createLifecycle, type LifecycleOptions } from '../src/index.ts';
import { memoryLogger } from './support/memory-logger.ts';

function setup(options: LifecycleOptions = {}) {
  const logger = memoryLogger();
  const exits: number[] = [];
  const lifecycle = createLifecycle({
    signals: [],
    exit: (code) => exits.push(code),
    logger,
    drainDelayMs: 0,
    ...options,
  });
  return { lifecycle, logger, exits };
}

describe('lifecycle (in process)', () => {
  it('aborts its signal when shutdown starts and runs hooks in reverse order of registration', async () => {
    const { lifecycle, exits } = setup();
    const order: string[] = [];
    lifecycle.addShutdownHook('telemetry', () => void order.push('telemetry'));
    lifecycle.addShutdownHook('pool', async () => void order.push('pool'));
    lifecycle.addShutdownHook('server', () => void order.push('server'));
    expect(lifecycle.isShuttingDown).toBe(false);
    const done = lifecycle.shutdown('test');
    expect(lifecycle.isShuttingDown).toBe(true);
    expect(lifecycle.signal.aborted).toBe(true);
    expect(await done).toBe(0);
    expect(order).toEqual(['server', 'pool', 'telemetry']);
    expect(exits).toEqual([0]);
    expect(await lifecycle.shutdown('again')).toBe(0);
    expect(exits).toEqual([0]);
  });

  it('a failing hook is logged by name, the others still run, and the exit code is 1', async () => {
    const { lifecycle, logger, exits } = setup();
    const ran: string[] = [];
    lifecycle.addShutdownHook('flush', () => void ran.push('flush'));
    lifecycle.addShutdownHook('broken', () => {
      throw new Error('pool already closed');
    });
    expect(await lifecycle.shutdown('test')).toBe(1);
    expect(ran).toEqual(['flush']);
    expect(logger.lines.find((l) => l.fields.hook === 'broken')).toMatchObject({
      level: 'error',
      fields: { error: 'pool already closed' },
    });
    expect(exits).toEqual([1]);
  });

  it('waits for a beacon released in time and exits 0', async () => {
    const { lifecycle } = setup({ shutdownTimeoutMs: 5000 });
    const beacon = lifecycle.beacon('import batch');
    const started = performance.now();
    setTimeout(() => beacon.release(), 300);
    expect(await lifecycle.shutdown('test')).toBe(0);
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
    expect(beacon.signal.aborted).toBe(false);
  });

  it('HTTP/2: sends GOAWAY, lets the stream in progress finish, then exits 0', async () => {
    const { lifecycle } = setup({ drainDelayMs: 200, shutdownTimeoutMs: 5000 });
    const server = createHttp2Server();
    server.on('stream', (stream) => {
      setTimeout(() => {
        stream.respond({ ':status': 200 });
        stream.end('slow h2');
      }, 600);
    });
    lifecycle.trackHttpServer(server);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const client = connectHttp2(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    const goaway = once(client, 'goaway');
    const req = client.request({ ':path': '/' });
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    const status = once(req, 'response').then(([headers]) => (headers as Record<string, number>)[':status']);
    await once(client, 'connect');
    await new Promise((r) => setTimeout(r, 50));
    const exitCode = lifecycle.shutdown('test');
    await goaway;
    expect(await status).toBe(200);
    await once(req, 'end');
    expect(body).toBe('slow h2');
    expect(await exitCode).toBe(0);
    client.close();
  });

  it('never runs past the hard deadline: a hook whose own timeout is longer is cut at drain delay + shutdownTimeoutMs', async () => {
    const { lifecycle, logger } = setup({ drainDelayMs: 100, shutdownTimeoutMs: 400 });
    lifecycle.addShutdownHook('slow flush', () => new Promise<void>(() => undefined), { timeoutMs: 60_000 });
    const started = performance.now();
    expect(await lifecycle.shutdown('test')).toBe(1);
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(450);
    expect(elapsed).toBeLessThan(1000);
    const named = logger.lines.filter((l) => l.level === 'error' && JSON.stringify(l).includes('slow flush'));
    expect(named.length).toBeGreaterThan(0);
  });

  it('a critical readiness check that throws synchronously makes /readyz 503 with its message', async () => {
    const { lifecycle } = setup();
    lifecycle.addReadinessCheck(
      'redis',
      () => {
        throw new Error('redis not configured');
      },
      { critical: true },
    );
    lifecycle.startupComplete();
    const { port } = await lifecycle.listenAdmin(0, '127.0.0.1');
    await new Promise((r) => setTimeout(r, 20));
    const res = await fetch(`http://127.0.0.1:${port}/readyz`);
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({
      status: 'not ready',
      checks: { redis: { ok: false, error: 'redis not configured' } },
    });
    await lifecycle.shutdown('test over');
  });
});
