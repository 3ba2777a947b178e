import { createServer } from 'node:net';
import { DevstackError } from './errors.ts';

/** A TCP port on 127.0.0.1 that was free a moment ago (the kernel picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('could not read the port the kernel assigned'));
      });
    });
  });
}

/** Resolves once something accepts TCP connections on host:port, rejects after `timeoutMs`. */
export async function waitForPort(host: string, port: number, timeoutMs: number): Promise<void> {
  const { connect } = await import('node:net');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect({ host, port });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline)
      throw new Error(`nothing accepted connections on ${host}:${port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** What Postgres and Redis print when the port they were given is already bound. */
const portInUse = /address already in use|EADDRINUSE/i;

/**
 * The error a server start throws when its port was taken: `TETHER_DEVSTACK_PORT_IN_USE` when the
 * server's output says so, else `TETHER_DEVSTACK_START`.
 */
export function startError(name: string, error: unknown, output: string): DevstackError {
  const clash = portInUse.test(output) || portInUse.test(String((error as Error)?.message));
  return new DevstackError(
    clash ? 'TETHER_DEVSTACK_PORT_IN_USE' : 'TETHER_DEVSTACK_START',
    `${name} did not start: ${(error as Error).message}\n${output}`,
    { cause: error },
  );
}

export interface FreePortRetry {
  /** How a port is picked (default `freePort`: the kernel's choice a moment ago). */
  pick?: () => Promise<number>;
  /** Picks before giving up (default 5). */
  attempts?: number;
}

/**
 * Runs `start` on a free port, and again on a newly picked one when the port was taken between
 * picking and binding it (another process asked the kernel at the same moment and got the same
 * answer, or bound it first). Bounded: after `attempts` clashes the last error is thrown.
 */
export async function onFreePort<T>(
  start: (port: number) => Promise<T>,
  { pick = freePort, attempts = 5 }: FreePortRetry = {},
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const port = await pick();
    try {
      return await start(port);
    } catch (error) {
      const clash = error instanceof DevstackError && error.code === 'TETHER_DEVSTACK_PORT_IN_USE';
      if (!clash || attempt >= attempts) throw error;
    }
  }
}
