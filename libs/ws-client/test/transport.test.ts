import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { HttpsProxyAgent } from 'https-proxy-agent';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { type DisconnectInfo, type JobEvent, WsClient, WsTokenTimeoutError } from '../src/index.ts';
import { EventLog, TestGateway } from './gateway.ts';
import { waitFor } from './wait.ts';

const TOKEN = 'transport-token';
const run = promisify(execFile);
const cleanups: Array<() => Promise<unknown> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A private CA and a server certificate it signed for 127.0.0.1, made with the openssl CLI. */
let pki: { ca: string; cert: string; key: string };
let pkiDir: string;
beforeAll(async () => {
  pkiDir = await mkdtemp(join(tmpdir(), 'ws-client-tls-'));
  const at = (name: string): string => join(pkiDir, name);
  const openssl = (...args: string[]) => run('openssl', args, { cwd: pkiDir });
  await writeFile(at('san.cnf'), 'subjectAltName = IP:127.0.0.1\n');
  await openssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '1',
    '-subj',
    '/CN=Tether Test CA',
    '-keyout',
    at('ca.key'),
    '-out',
    at('ca.pem'),
  );
  await openssl(
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-subj',
    '/CN=127.0.0.1',
    '-keyout',
    at('server.key'),
    '-out',
    at('server.csr'),
  );
  await openssl(
    'x509',
    '-req',
    '-in',
    at('server.csr'),
    '-CA',
    at('ca.pem'),
    '-CAkey',
    at('ca.key'),
    '-CAcreateserial',
    '-days',
    '1',
    '-out',
    at('server.pem'),
    '-extfile',
    at('san.cnf'),
  );
  pki = {
    ca: await readFile(at('ca.pem'), 'utf8'),
    cert: await readFile(at('server.pem'), 'utf8'),
    key: await readFile(at('server.key'), 'utf8'),
  };
}, 60_000);
afterAll(() => rm(pkiDir, { recursive: true, force: true }));

/** A wss:// server with the private CA's certificate that sends one event to each new client. */
async function tlsGateway(): Promise<string> {
  const server = createHttpsServer({ cert: pki.cert, key: pki.key });
  const wss = new WebSocketServer({ server });
  wss.on('connection', (ws) => {
    ws.on('message', () =>
      ws.send(
        JSON.stringify({ id: '1', jobId: 'job-tls', type: 'queued', data: {}, ts: new Date().toISOString() }),
      ),
    );
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(() => {
    for (const ws of wss.clients) ws.terminate();
    return new Promise((resolve) => server.close(resolve));
  });
  return `wss://127.0.0.1:${(server.address() as AddressInfo).port}/v1/stream`;
}

/** An HTTP CONNECT proxy (what HTTPS_PROXY points at) that records the tunnels it opened. */
async function connectProxy(): Promise<{ url: string; tunnels: string[] }> {
  const tunnels: string[] = [];
  const sockets = new Set<Socket>();
  const proxy: HttpServer = createHttpServer((_req, res) => res.writeHead(405).end());
  proxy.on('connect', (req, client: Socket, head: Buffer) => {
    tunnels.push(req.url ?? '');
    const [host, port] = (req.url ?? '').split(':');
    const upstream = connect(Number(port), host, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      upstream.pipe(client).pipe(upstream);
    });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => s.destroy());
      s.on('close', () => sockets.delete(s));
    }
  });
  proxy.listen(0, '127.0.0.1');
  await once(proxy, 'listening');
  cleanups.push(() => {
    for (const s of sockets) s.destroy();
    return new Promise((resolve) => proxy.close(resolve));
  });
  return { url: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`, tunnels };
}

describe('options passed through to ws', () => {
  it('trusts a private CA given as ws.ca and receives events over wss://', async () => {
    const url = await tlsGateway();
    const client = new WsClient({ url, token: TOKEN, ws: { ca: pki.ca } });
    cleanups.push(() => client.close());
    client.subscribe('job-tls');
    const [event] = (await once(client, 'event')) as [JobEvent];
    expect(event).toMatchObject({ id: '1', jobId: 'job-tls' });
  });

  it('CONTROL: without the CA the same server is refused as untrusted, and the client backs off', async () => {
    const url = await tlsGateway();
    const client = new WsClient({ url, token: TOKEN, initialReconnectDelayMs: 1000 });
    cleanups.push(() => client.close());
    const [info] = (await once(client, 'disconnected')) as [DisconnectInfo];
    expect(info).toMatchObject({ reason: 'failure', failures: 1 });
    expect(info.error?.message).toMatch(/certificate/);
  });

  it('goes through an HTTP CONNECT proxy given as ws.agent', async () => {
    const log = new EventLog();
    const gw = await TestGateway.start({ token: TOKEN, log });
    cleanups.push(() => gw.stop());
    const proxy = await connectProxy();
    const client = new WsClient({ url: gw.url, token: TOKEN, ws: { agent: new HttpsProxyAgent(proxy.url) } });
    cleanups.push(() => client.close());
    const events: JobEvent[] = [];
    client.on('event', (e) => events.push(e));
    client.subscribe('job-a');
    await once(client, 'open');
    log.append('job-a');
    await waitFor('the event through the proxy', () => events.length === 1);
    expect(proxy.tunnels).toEqual([`127.0.0.1:${gw.port}`]);
  });

  it('enforces ws.maxPayload: a larger message fails the connection (1009 to the server) and the client reconnects', async () => {
    const log = new EventLog();
    const gw = await TestGateway.start({ token: TOKEN, log });
    cleanups.push(() => gw.stop());
    const client = new WsClient({
      url: gw.url,
      token: TOKEN,
      initialReconnectDelayMs: 50,
      ws: { maxPayload: 1024 },
    });
    cleanups.push(() => client.close());
    client.subscribe('job-a');
    await once(client, 'open');
    log.append('job-a', 'progress', { blob: 'x'.repeat(4096) });
    const [info] = (await once(client, 'disconnected')) as [DisconnectInfo];
    // ws fails the connection (it sends 1009 to the server) and reports its own side as 1006.
    expect(info).toMatchObject({ reason: 'failure' });
    expect(info.error?.message).toMatch(/Max payload size exceeded/);
    // Wait for the event, not for the state: the replayed oversized event fails the new connection
    // again at once, so a poll of `state` can miss the short time it is open.
    await once(client, 'open');
  });
});

describe('token function timeout', () => {
  it('a token function that never settles fails the attempt with WsTokenTimeoutError; the next attempt calls it again and connects', async () => {
    const gw = await TestGateway.start({ token: TOKEN, log: new EventLog() });
    cleanups.push(() => gw.stop());
    const signals: AbortSignal[] = [];
    const client = new WsClient({
      url: gw.url,
      tokenTimeoutMs: 300,
      initialReconnectDelayMs: 50,
      token: (signal) => {
        signals.push(signal);
        return signals.length === 1 ? new Promise<string>(() => undefined) : TOKEN;
      },
    });
    cleanups.push(() => client.close());
    const [info] = (await once(client, 'disconnected')) as [DisconnectInfo];
    expect(info.error).toBeInstanceOf(WsTokenTimeoutError);
    expect(info.error).toMatchObject({ code: 'TETHER_WS_TOKEN_TIMEOUT', retryable: true });
    expect(info.error?.message).toBe('the token function did not settle within 300 ms');
    expect(info).toMatchObject({ reason: 'failure', failures: 1 });
    expect(signals[0]?.aborted).toBe(true);
    await waitFor('the connection with the second token', () => client.state === 'open');
    expect(signals).toHaveLength(2);
    expect(signals[1]?.aborted).toBe(false);
  });

  it('close() while the token function hangs ends at once, with no attempt afterwards', async () => {
    const gw = await TestGateway.start({ token: TOKEN, log: new EventLog() });
    cleanups.push(() => gw.stop());
    let signal: AbortSignal | undefined;
    const client = new WsClient({
      url: gw.url,
      tokenTimeoutMs: 60_000,
      token: (s) => ((signal = s), new Promise<string>(() => undefined)),
    });
    const disconnects: DisconnectInfo[] = [];
    client.on('disconnected', (d) => disconnects.push(d));
    await waitFor('the token call', () => signal !== undefined);
    await client.close();
    expect(signal?.aborted).toBe(true);
    expect(client.state).toBe('closed');
    await new Promise((r) => setTimeout(r, 200));
    expect(disconnects).toEqual([]);
    expect(gw.accepted).toEqual([]);
  });
});
