/**
 * What the browser tests share: how Chromium is launched (Debian's `/usr/bin/chromium` through
 * playwright-core's `executablePath`, never a downloaded browser, nothing that phones home), and a
 * loopback page that can `import('/ws-client.js')`, the @tether/ws-client browser bundle.
 */
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { bundleWsClient } from './console/bundle.ts';
import { workspaceRoot } from './stack.ts';

/** Pass to playwright-core's `chromium.launch()`. */
export const chromiumLaunchOptions = {
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
  ],
};

/** An empty page at `url` whose scripts can `await import('/ws-client.js')`. */
export async function serveWsClientPage(): Promise<{ url: string; close(): Promise<void> }> {
  const bundle = await bundleWsClient(workspaceRoot);
  const server = createServer((req, res) => {
    if (req.url === '/ws-client.js')
      return res.writeHead(200, { 'content-type': 'text/javascript' }).end(bundle);
    res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>ws-client</title>');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
