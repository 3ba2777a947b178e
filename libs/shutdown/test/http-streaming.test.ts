import { Agent, request } from 'node:http';
import type { Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { startFixture, type FixtureProcess } from './support/fixture-process.ts';

const started: FixtureProcess[] = [];
const agents: Agent[] = [];
afterEach(() => {
  for (const app of started.splice(0)) app.child.kill('SIGKILL');
  for (const agent of agents.splice(0)) agent.destroy();
});

interface Stream {
  /** Resolves with the whole body and when it ended. */
  done: Promise<{ status: number; connection: string | undefined; body: string; endedAt: number }>;
  /** Resolves when the client's keep-alive socket closes. */
  socketClosed: Promise<number>;
}

/** A GET over a keep-alive agent, as an EventSource or a download manager holds it. */
function openStream(url: string): Stream {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  agents.push(agent);
  let socketClosed!: Promise<number>;
  const done = new Promise<Awaited<Stream['done']>>((resolve, reject) => {
    const req = request(url, { agent }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          connection: res.headers.connection,
          body,
          endedAt: performance.now(),
        }),
      );
    });
    req.once('error', reject);
    req.end();
    socketClosed = new Promise((resolveClosed) =>
      req.once('socket', (socket: Socket) => socket.once('close', () => resolveClosed(performance.now()))),
    );
  });
  return { done, socketClosed };
}

async function streamThroughSigterm(fixture: string): Promise<{
  app: FixtureProcess;
  stream: Awaited<Stream['done']>;
  socketClosed: Promise<number>;
}> {
  const app = await startFixture(fixture, {
    FRAMEWORK: 'node',
    SHUTDOWN_DRAIN_DELAY_MS: '300',
    SHUTDOWN_TIMEOUT_MS: '20000',
  });
  started.push(app);
  const { done, socketClosed } = openStream(`http://127.0.0.1:${app.port}/stream?ms=1500`);
  await sleep(300);
  app.child.kill('SIGTERM');
  const stream = await done;
  return { app, stream, socketClosed };
}

/** How the process ended within `ms` after `from`, or 'still running'. */
async function exitWithin(app: FixtureProcess, from: number, ms: number): Promise<number | null | string> {
  const outcome = await Promise.race([
    app.exited.then((exit) => exit.code),
    sleep(Math.max(0, from + ms - performance.now())).then(() => 'still running'),
  ]);
  return outcome;
}

describe('a streaming response in flight at SIGTERM (SSE, downloads)', () => {
  it('streams to the end, then its keep-alive socket is closed and the process exits 0 long before the deadline', async () => {
    const { app, stream, socketClosed } = await streamThroughSigterm('http-app');
    expect(stream.status).toBe(200);
    // Headers went out before SIGTERM: keep-alive was promised and cannot be taken back.
    expect(stream.connection).toBe('keep-alive');
    expect(stream.body).toContain('data: 10');
    expect(stream.body.endsWith('data: end\n\n')).toBe(true);
    // The server ends the socket right after the last byte, not after keepAliveTimeout (65 s).
    expect((await socketClosed) - stream.endedAt).toBeLessThan(3000);
    expect(await exitWithin(app, stream.endedAt, 5000)).toBe(0);
    expect(app.output()).toContain('shutdown complete');
  });

  it('CONTROL: with plain server.close() the finished stream leaves an idle keep-alive socket that holds the shutdown', async () => {
    const { app, stream } = await streamThroughSigterm('naive-stream-app');
    expect(stream.status).toBe(200);
    expect(stream.body.endsWith('data: end\n\n')).toBe(true);
    // Same bound as above: the process is still waiting for the idle socket (65 s keep-alive timeout).
    expect(await exitWithin(app, stream.endedAt, 5000)).toBe('still running');
  });
});
