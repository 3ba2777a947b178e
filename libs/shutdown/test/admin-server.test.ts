import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { createLifecycle } from '../src/index.ts';
import { fixtureCommand } from './support/fixture-process.ts';
import { memoryLogger } from './support/memory-logger.ts';

const run = promisify(execFile);

describe('admin server address', () => {
  it('listens dual-stack by default: probes answer over 127.0.0.1 and [::1]', async () => {
    const lifecycle = createLifecycle({
      signals: [],
      exit: () => undefined,
      logger: memoryLogger(),
      drainDelayMs: 0,
    });
    lifecycle.startupComplete();
    const address = await lifecycle.listenAdmin(0);
    expect(address.address).toBe('::');
    for (const host of ['127.0.0.1', '[::1]']) {
      const res = await fetch(`http://${host}:${address.port}/readyz`);
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ status: 'ready' });
    }
    await lifecycle.shutdown('test over');
  });

  it('CONTROL: bound to 0.0.0.0 (the old default), an IPv6 probe is refused', async () => {
    const lifecycle = createLifecycle({
      signals: [],
      exit: () => undefined,
      logger: memoryLogger(),
      drainDelayMs: 0,
    });
    const { port } = await lifecycle.listenAdmin(0, '0.0.0.0');
    const outcome = await fetch(`http://[::1]:${port}/livez`).then(
      (res) => res.status,
      (error: { cause?: { code?: string } }) => error.cause?.code,
    );
    expect(outcome).toBe('ECONNREFUSED');
    await lifecycle.shutdown('test over');
  });

  it('on a host with IPv6 switched off (a network namespace with disable_ipv6), IPv4 probes still answer', async () => {
    const { command, args } = fixtureCommand('admin-only');
    // Our own namespace: its loopback is up, IPv6 is disabled on every interface before node starts.
    const script = [
      'ip link set lo up',
      'for f in /proc/sys/net/ipv6/conf/*/disable_ipv6; do echo 1 > "$f"; done',
      'exec "$@"',
    ].join(' && ');
    const { stdout } = await run('unshare', ['--net', 'sh', '-c', script, 'sh', command, ...args], {
      timeout: 30_000,
    });
    const result = JSON.parse(stdout.trim().split('\n').at(-1)!) as { v4: unknown; v6: unknown };
    expect(result.v4).toBe(200);
    expect(result.v6).not.toBe(200);
  });
});
