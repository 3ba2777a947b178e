import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { bundleForBrowser } from './browser-bundle.ts';
import { EventLog, TestGateway } from './gateway.ts';

const TOKEN = 'browser-token';

describe('browser bundle', () => {
  it('contains neither ws nor any Node built-in: the "browser" condition picks the native WebSocket', async () => {
    const { code, inputs } = await bundleForBrowser();
    expect(inputs.some((path) => path.includes('transport-browser.ts'))).toBe(true);
    expect(inputs.filter((path) => /node_modules\/ws\/|transport-node|platform-node/.test(path))).toEqual([]);
    expect(code).not.toMatch(/from\s*["'](node:|ws["'])|require\(["'](node:|ws["'])/);
  });

  it('CONTROL: the same entry bundled for Node pulls in ws and node:events', async () => {
    const { code, inputs } = await bundleForBrowser('node');
    expect(inputs.some((path) => path.includes('node_modules/ws/'))).toBe(true);
    expect(code).toMatch(/node:events/);
  });
});

describe('in a real browser (headless chromium)', () => {
  let browser: Browser;
  let pageUrl: string;
  const cleanups: Array<() => Promise<unknown> | void> = [];
  beforeAll(async () => {
    const { code } = await bundleForBrowser();
    const server = createServer((req, res) => {
      if (req.url === '/client.js')
        return res.writeHead(200, { 'content-type': 'text/javascript' }).end(code);
      res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>ws-client</title>');
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    pageUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    cleanups.push(() => new Promise((resolve) => server.close(resolve)));
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: ['--no-sandbox', '--disable-background-networking'],
    });
    cleanups.push(() => browser.close());
  }, 60_000);
  afterAll(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  const perTest: Array<() => Promise<unknown> | void> = [];
  afterEach(async () => {
    for (const cleanup of perTest.splice(0).reverse()) await cleanup();
  });

  it('receives events in order and resumes across a 1012 without loss or repeats', async () => {
    const log = new EventLog();
    const gw = await TestGateway.start({ token: TOKEN, log });
    perTest.push(() => gw.stop());
    const page = await browser.newPage();
    perTest.push(() => page.close());
    await page.goto(pageUrl);
    // A string, not a function: vitest would rewrite a function's import() for Node.
    await page.evaluate(`(async () => {
      const { WsClient } = await import('/client.js');
      const state = { ids: [], opens: 0, restarts: 0 };
      globalThis.state = state;
      const client = new WsClient({
        url: ${JSON.stringify(gw.url)},
        token: ${JSON.stringify(TOKEN)},
        tokenIn: 'query',
        restartReconnectDelayMs: 50,
      });
      client.on('event', (event) => state.ids.push(event.id));
      client.on('open', () => (state.opens += 1));
      client.on('disconnected', (info) => (state.restarts += info.reason === 'restart' ? 1 : 0));
      client.subscribe('job-a');
    })()`);
    type State = { ids: string[]; opens: number; restarts: number };
    const state = (): Promise<State> =>
      page.evaluate(() => (globalThis as unknown as { state: State }).state);
    await page.waitForFunction(() => (globalThis as unknown as { state: State }).state.opens === 1);
    log.append('job-a');
    log.append('job-a');
    await page.waitForFunction(() => (globalThis as unknown as { state: State }).state.ids.length === 2);

    gw.closeAll(1012);
    log.append('job-a', 'succeeded'); // published while the browser is away
    await page.waitForFunction(() => (globalThis as unknown as { state: State }).state.opens === 2);
    log.append('job-a', 'progress');
    await page.waitForFunction(() => (globalThis as unknown as { state: State }).state.ids.length === 4);
    const final = await state();
    expect(final.ids).toEqual(log.ids('job-a'));
    expect(final.restarts).toBe(1);
  });
});
