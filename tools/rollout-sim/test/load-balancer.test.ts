import { once } from 'node:events';
import { Agent, createServer, get, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { LoadBalancer } from '../src/index.ts';

interface Backend {
  name: string;
  server: Server;
  admin: Server;
  port: number;
  adminPort: number;
  ready: boolean;
}

const opened: { close(): unknown }[] = [];
afterEach(async () => {
  for (const thing of opened.splice(0).reverse()) await thing.close();
});

async function listen(server: Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  opened.push({ close: () => new Promise((r) => (server.closeAllConnections(), server.close(r))) });
  return (server.address() as AddressInfo).port;
}

async function backend(name: string): Promise<Backend> {
  const b = { name, ready: true } as Backend;
  b.server = createServer((_req, res) => res.end(name));
  b.admin = createServer((_req, res) => {
    res.statusCode = b.ready ? 200 : 503;
    res.end();
  });
  b.port = await listen(b.server);
  b.adminPort = await listen(b.admin);
  return b;
}

async function startLb(): Promise<LoadBalancer> {
  const lb = await LoadBalancer.start({ probePeriodMs: 100, propagationDelayMs: 300 });
  opened.push(lb);
  return lb;
}

function add(lb: LoadBalancer, b: Backend): void {
  lb.addEndpoint({
    id: b.name,
    host: '127.0.0.1',
    port: b.port,
    readinessUrl: `http://127.0.0.1:${b.adminPort}/readyz`,
  });
}

function fetchText(url: string, agent: Agent | false = false): Promise<string> {
  return new Promise((resolve, reject) => {
    get(url, { agent }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve(body));
    }).once('error', reject);
  });
}

describe('LoadBalancer', () => {
  it('routes to an endpoint only after its probe passed and the change propagated', async () => {
    const lb = await startLb();
    const a = await backend('a');
    const added = performance.now();
    add(lb, a);
    expect(lb.endpoint('a').routable).toBe(false);
    await lb.waitUntilRoutable('a', 5000);
    expect(performance.now() - added).toBeGreaterThanOrEqual(290);
    expect(await fetchText(lb.url)).toBe('a');
  });

  it('round-robins new connections over ready endpoints and drops a failing one after propagation', async () => {
    const lb = await startLb();
    const a = await backend('a');
    const b = await backend('b');
    add(lb, a);
    add(lb, b);
    await Promise.all([lb.waitUntilRoutable('a', 5000), lb.waitUntilRoutable('b', 5000)]);
    const answers = await Promise.all(Array.from({ length: 10 }, () => fetchText(lb.url)));
    expect(answers.filter((x) => x === 'a')).toHaveLength(5);

    b.ready = false;
    await once(lb, 'change'); // the probe saw it
    expect(lb.endpoint('b')).toMatchObject({ ready: false, routable: true });
    while (lb.endpoint('b').routable) await once(lb, 'change');
    const after = await Promise.all(Array.from({ length: 6 }, () => fetchText(lb.url)));
    expect(new Set(after)).toEqual(new Set(['a']));
  });

  it('keeps a keep-alive connection pinned to its pod after the pod leaves the endpoints (like conntrack)', async () => {
    const lb = await startLb();
    const a = await backend('a');
    add(lb, a);
    await lb.waitUntilRoutable('a', 5000);
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    expect(await fetchText(lb.url, agent)).toBe('a');
    const b = await backend('b');
    add(lb, b);
    await lb.waitUntilRoutable('b', 5000);
    lb.markTerminating('a');
    while (lb.endpoint('a').routable) await once(lb, 'change');
    // New connections go to b, the reused one still reaches a.
    expect(await fetchText(lb.url)).toBe('b');
    expect(await fetchText(lb.url, agent)).toBe('a');
    agent.destroy();
  });

  it('resets connections when no endpoint is routable', async () => {
    const lb = await startLb();
    const error = await fetchText(lb.url).catch((e: NodeJS.ErrnoException) => e);
    expect((error as NodeJS.ErrnoException).code).toBe('ECONNRESET');
    expect(lb.stats.noEndpoint).toBe(1);
  });

  it('passes WebSocket upgrades through', async () => {
    const lb = await startLb();
    const a = await backend('a');
    const wss = new WebSocketServer({ server: a.server });
    wss.on('connection', (ws) => ws.on('message', (m: Buffer) => ws.send(`echo ${m.toString()}`)));
    add(lb, a);
    await lb.waitUntilRoutable('a', 5000);
    const ws = new WebSocket(`ws://127.0.0.1:${lb.port}/`);
    await once(ws, 'open');
    ws.send('hi');
    const [message] = (await once(ws, 'message')) as [Buffer];
    expect(message.toString()).toBe('echo hi');
    ws.close();
    await once(ws, 'close');
    wss.close();
  });

  it('rejects a bad option with its name', async () => {
    await expect(LoadBalancer.start({ probePeriodMs: -1 })).rejects.toThrow(/probePeriodMs/);
  });
});
