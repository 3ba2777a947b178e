/**
 * The keep-alive race at shutdown, on real loopback sockets: a client sends its next request on a
 * pooled keep-alive connection just as the server drains. Node's `server.close()` (>= 19) reaps every
 * connection whose parser has not seen a request yet, including one whose request is already in the
 * kernel: the unread bytes turn its close into an RST and the request is lost (the ECONNRESET that
 * `chart-verify simulate` found at each old pod's SIGTERM). The lifecycle's drain answers it.
 */
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, expect, it } from 'vitest';
import { createLifecycle } from '../src/index.ts';
import { memoryLogger } from './support/memory-logger.ts';

/** A raw HTTP/1.1 keep-alive connection: what was received, and how it ended. */
interface Connection {
  socket: Socket;
  received: string;
  /** 'end' (a clean FIN), an errno such as 'ECONNRESET', or undefined while open. */
  ending: Promise<string>;
}

const servers: Server[] = [];
afterEach(() => {
  for (const server of servers.splice(0)) server.closeAllConnections();
});

/** Every POST /jobs/:id is a non-idempotent write: the server appends the id. */
async function jobServer(): Promise<{ server: Server; port: number; writes: string[] }> {
  const writes: string[] = [];
  const server = createServer((req, res) => {
    writes.push(req.url ?? '');
    res.end(req.url);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port, writes };
}

async function open(port: number): Promise<Connection> {
  const socket = connect(port, '127.0.0.1');
  const connection: Connection = { socket, received: '', ending: Promise.resolve('') };
  connection.ending = new Promise((resolve) => {
    socket.once('end', () => resolve('end'));
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
  socket.on('data', (chunk: Buffer) => (connection.received += chunk.toString()));
  await new Promise((resolve) => socket.once('connect', resolve));
  return connection;
}

function send(connection: Connection, id: string): void {
  connection.socket.write(`POST /jobs/${id} HTTP/1.1\r\nHost: test\r\nContent-Length: 0\r\n\r\n`);
}

function responses(connection: Connection): string[] {
  return connection.received.split('HTTP/1.1 ').slice(1);
}

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await sleep(5);
}

/** Blocks the event loop: the bytes just written reach the server's kernel buffer, unread. */
function blockEventLoop(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

/** 20 warm keep-alive connections, each with a second request written and still unread by the server. */
async function requestsInFlight(port: number): Promise<Connection[]> {
  const connections = await Promise.all(Array.from({ length: 20 }, () => open(port)));
  connections.forEach((c, i) => send(c, `${i}-a`));
  await until(() => connections.every((c) => responses(c).length === 1));
  connections.forEach((c, i) => send(c, `${i}-b`));
  blockEventLoop(30);
  return connections;
}

it('CONTROL: server.close() resets keep-alive connections whose next request is unread, and loses the requests', async () => {
  const { server, port, writes } = await jobServer();
  const connections = await requestsInFlight(port);
  server.close();
  const endings = await Promise.all(connections.map((c) => c.ending));
  const reset = connections.filter((_, i) => endings[i] === 'ECONNRESET');
  expect(reset.length).toBeGreaterThan(0);
  for (const c of reset) expect(responses(c)).toHaveLength(1);
  expect(writes.filter((w) => w.endsWith('-b')).length).toBe(20 - reset.length);
});

it('answers every request already sent on an idle keep-alive connection at shutdown, with Connection: close, once each', async () => {
  const { server, port, writes } = await jobServer();
  const exits: number[] = [];
  const lifecycle = createLifecycle({
    drainDelayMs: 0,
    shutdownTimeoutMs: 5000,
    signals: [],
    exit: (code) => exits.push(code),
    logger: memoryLogger(),
  });
  lifecycle.trackHttpServer(server);
  const connections = await requestsInFlight(port);
  const shutdown = lifecycle.shutdown('test');
  expect(server.listening).toBe(false);

  const endings = await Promise.all(connections.map((c) => c.ending));
  expect(endings).toEqual(connections.map(() => 'end'));
  connections.forEach((c, i) => {
    const [first, second] = responses(c);
    expect(first).toMatch(/^200 OK[\s\S]*connection: keep-alive/i);
    expect(second).toMatch(/^200 OK[\s\S]*connection: close/i);
    expect(second).toContain(`/jobs/${i}-b`);
  });
  expect(writes.toSorted()).toEqual(
    connections.flatMap((_, i) => [`/jobs/${i}-a`, `/jobs/${i}-b`]).toSorted(),
  );
  expect(await shutdown).toBe(0);
  expect(exits).toEqual([0]);
});

it('keeps an idle connection open through the grace window (a late request gets Connection: close), then closes the quiet one with a FIN', async () => {
  const { server, port, writes } = await jobServer();
  const lifecycle = createLifecycle({
    drainDelayMs: 0,
    shutdownTimeoutMs: 5000,
    keepAliveGraceMs: 600,
    signals: [],
    exit: () => undefined,
    logger: memoryLogger(),
  });
  lifecycle.trackHttpServer(server);
  const [late, quiet] = await Promise.all([open(port), open(port)]);
  send(late, 'late-a');
  send(quiet, 'quiet-a');
  await until(() => responses(late).length === 1 && responses(quiet).length === 1);

  const shutdown = lifecycle.shutdown('test');
  await sleep(200);
  send(late, 'late-b');
  expect(await late.ending).toBe('end');
  expect(responses(late)[1]).toMatch(/^200 OK[\s\S]*connection: close[\s\S]*\/jobs\/late-b$/i);
  expect(await quiet.ending).toBe('end');
  expect(responses(quiet)).toHaveLength(1);
  expect(writes.toSorted()).toEqual(['/jobs/late-a', '/jobs/late-b', '/jobs/quiet-a']);
  expect(await shutdown).toBe(0);
});

it('refuses a keep-alive grace that does not fit in the shutdown timeout', () => {
  expect(() => createLifecycle({ shutdownTimeoutMs: 1000, keepAliveGraceMs: 1000, signals: [] })).toThrow(
    /keepAliveGraceMs/,
  );
});
