/**
 * Two gateway processes behind a Service (rollout-sim's kube-proxy stand-in); one gets SIGTERM while
 * a job is followed: its clients get 1012, reconnect through the Service to the other gateway,
 * resume with `after`, and every client ends with every event exactly once, in order — Node clients
 * and browser clients (@tether/ws-client's browser bundle in headless Chromium) alike.
 */
import { type AppProcess, chromiumLaunchOptions, serveWsClientPage, startApp } from '@tether/devstack';
import { LoadBalancer } from '@tether/rollout-sim';
import { WsClient } from '@tether/ws-client';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { newJob, range, relay, runJob, SECRET, type Stack, startStack, token, until } from './support.ts';

const entry = new URL('../src/main.ts', import.meta.url).pathname;
let stack: Stack;
let lb: LoadBalancer;
const gateways: AppProcess[] = [];
let browser: Browser;
let page: Page;
let pageServer: { url: string; close(): Promise<void> };

beforeAll(async () => {
  stack = await startStack();
  const env = {
    DATABASE_URL: stack.postgres.url,
    REDIS_URL: stack.redis.url,
    AUTH_JWT_SECRET: SECRET,
    SHUTDOWN_DRAIN_DELAY_MS: '0',
    SHUTDOWN_TIMEOUT_MS: '3000',
  };
  gateways.push(...(await Promise.all([startApp(entry, env), startApp(entry, env)])));
  await Promise.all(gateways.map((g) => g.ready('/readyz', 90_000)));
  lb = await LoadBalancer.start({ probePeriodMs: 200, propagationDelayMs: 200 });
  gateways.forEach((g, i) =>
    lb.addEndpoint({
      id: `gw-${i}`,
      host: '127.0.0.1',
      port: g.port,
      readinessUrl: `http://127.0.0.1:${g.adminPort}/readyz`,
    }),
  );
  [pageServer, browser] = await Promise.all([serveWsClientPage(), chromium.launch(chromiumLaunchOptions)]);
  page = await browser.newPage();
  await page.goto(pageServer.url);
  await new Promise((r) => setTimeout(r, 1_000)); // both endpoints probed ready
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await pageServer?.close();
  await lb?.close();
  await Promise.all(gateways.map((g) => g.stop('SIGKILL')));
  await stack?.close();
});

interface Seen {
  ids: number[];
  closes: (number | undefined)[];
}

/** `count` browser clients in the page, following `jobId` through the Service; `seen()` reads their records. */
async function browserClients(url: string, bearer: string, jobId: string, count: number) {
  // A string, not a function: vitest would rewrite a function's import() for Node.
  await page.evaluate(`(async () => {
    const { WsClient } = await import('/ws-client.js');
    globalThis.seen = [];
    globalThis.clients = [];
    for (let i = 0; i < ${count}; i++) {
      const seen = { ids: [], closes: [] };
      const client = new WsClient({ url: ${JSON.stringify(url)}, token: ${JSON.stringify(bearer)}, tokenIn: 'query' });
      client.on('event', (event) => seen.ids.push(Number(event.id)));
      client.on('disconnected', (info) => seen.closes.push(info.code));
      client.subscribe(${JSON.stringify(jobId)});
      globalThis.seen.push(seen);
      globalThis.clients.push(client);
    }
  })()`);
  return {
    seen: () => page.evaluate(() => (globalThis as unknown as { seen: Seen[] }).seen),
    close: () =>
      page.evaluate(() =>
        Promise.all((globalThis as unknown as { clients: WsClient[] }).clients.map((c) => c.close())),
      ),
  };
}

it('SIGTERM to one of two gateways mid-job: its clients (Node and browser) get 1012, resume on the other, and every client gets every event once', async () => {
  const jobId = await newJob(stack, 'alice');
  const bearer = await token('alice');
  const url = `ws://127.0.0.1:${lb.port}/v1/stream`;
  const clients = range(1, 10).map(() => {
    const client = new WsClient({ url, token: () => bearer });
    const seen = { ids: [] as number[], closes: [] as (number | undefined)[] };
    client.on('event', (event) => seen.ids.push(Number(event.id)));
    client.on('disconnected', (info) => seen.closes.push(info.code));
    client.subscribe(jobId);
    return { client, seen };
  });
  // After the Node clients: the Service's round robin puts half of them on each gateway.
  const browsers = await browserClients(url, bearer, jobId, 4);
  let inBrowser: Seen[] = [];
  const poll = (check: () => boolean, what: string) =>
    until(async () => {
      inBrowser = await browsers.seen();
      return check();
    }, what);
  try {
    await until(() => clients.every((c) => c.seen.ids.includes(1)), 'every client subscribed');
    await poll(() => inBrowser.every((s) => s.ids.includes(1)), 'every browser client subscribed');
    const work = runJob(stack, jobId, 30, {}, async () => {
      await relay(stack);
      await new Promise((r) => setTimeout(r, 50));
    });
    await until(() => clients.some((c) => c.seen.ids.length >= 5), 'events flowing');
    // The kubelet's order: the endpoint is marked terminating, then SIGTERM.
    lb.markTerminating('gw-0');
    const exit = gateways[0]!.stop('SIGTERM');
    await work;
    await relay(stack);
    expect(await exit).toBe(0);
    const last = 32; // queued, running, 30 progress, succeeded = 33 events
    await until(() => clients.every((c) => c.seen.ids.includes(last + 1)), 'every client got succeeded');
    for (const { seen } of clients) expect(seen.ids).toEqual(range(1, last + 1));
    const closes = clients.flatMap((c) => c.seen.closes);
    expect(closes).toContain(1012);
    expect(closes).not.toContain(1006);
    await poll(() => inBrowser.every((s) => s.ids.includes(last + 1)), 'every browser client got succeeded');
    for (const seen of inBrowser) expect(seen.ids).toEqual(range(1, last + 1));
    expect(inBrowser.flatMap((s) => s.closes)).toContain(1012);
    expect(inBrowser.flatMap((s) => s.closes)).not.toContain(1006);
  } finally {
    await Promise.all(clients.map((c) => c.client.close()));
    await browsers.close();
  }
});
