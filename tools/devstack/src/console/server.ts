/**
 * The dev console: a small web page served by the devstack (never by the production apps) where a
 * person creates demo jobs, watches their progress and events live through `@tether/ws-client`,
 * and sees each dependency's outages as a timeline. Listens on 127.0.0.1 only: the page is handed
 * the dev token.
 *
 * Routes: `GET /` the page; `GET /ws-client.js` the browser bundle; `GET /config.json` the gateway
 * URL and dev token; `POST /api/jobs` and `GET /api/jobs/:id` forwarded to the API with the dev
 * token (the API sends no CORS headers, so the page talks to it through here); `GET /api/outages`
 * the outage episodes in the trace sink's file.
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DevstackError } from '../errors.ts';
import { bundleWsClient } from './bundle.ts';
import { readOutages } from './outages.ts';

export interface ConsoleOptions {
  /** The API's base URL (`api` in stack.json). */
  api: string;
  /** The gateway's stream URL (`ws` in stack.json). */
  ws: string;
  /** The dev token the page and the forwarded requests use. */
  token: string;
  /** The trace sink's spans file; undefined when spans go elsewhere (the timeline stays empty). */
  traceFile: string | undefined;
  workspaceRoot: string;
  /** Listen port (default 8090; 0 = any free port). */
  port?: number;
}

export interface DevConsole {
  url: string;
  port: number;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 16_384;
const JOB_PATH = /^\/api\/jobs\/([0-9a-f-]{36})$/;

function send(res: ServerResponse, status: number, type: string, body: string | Buffer): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' }).end(body);
}

function problem(res: ServerResponse, status: number, title: string): void {
  send(res, status, 'application/problem+json', JSON.stringify({ type: 'about:blank', title, status }));
}

async function readBody(req: IncomingMessage): Promise<string | undefined> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Builds the client bundle, then listens; rejects if the port is taken. */
export async function startConsole(options: ConsoleOptions): Promise<DevConsole> {
  const page = readFileSync(new URL('./page.html', import.meta.url));
  const client = await bundleWsClient(options.workspaceRoot);
  const config = JSON.stringify({ ws: options.ws, token: options.token });

  /** Forwards to the API with the dev token; the API's status and body go back unchanged. */
  async function forward(res: ServerResponse, path: string, init: RequestInit = {}): Promise<void> {
    try {
      const response = await fetch(`${options.api}${path}`, {
        ...init,
        headers: { authorization: `Bearer ${options.token}`, 'content-type': 'application/json' },
        signal: AbortSignal.timeout(10_000),
      });
      const type = response.headers.get('content-type') ?? 'application/json';
      send(res, response.status, type, Buffer.from(await response.arrayBuffer()));
    } catch (error) {
      problem(res, 502, `API unreachable: ${(error as Error).name}`);
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://console').pathname;
    const job = JOB_PATH.exec(path);
    if (req.method === 'POST' && path === '/api/jobs') {
      const body = await readBody(req);
      if (body === undefined) return problem(res, 413, `body over ${MAX_BODY_BYTES} bytes`);
      return forward(res, '/v1/jobs', { method: 'POST', body });
    }
    if (req.method !== 'GET') return problem(res, 405, 'Method Not Allowed');
    if (path === '/') return send(res, 200, 'text/html; charset=utf-8', page);
    if (path === '/ws-client.js') return send(res, 200, 'text/javascript; charset=utf-8', client);
    if (path === '/config.json') return send(res, 200, 'application/json', config);
    if (path === '/api/outages')
      return send(res, 200, 'application/json', JSON.stringify(readOutages(options.traceFile)));
    if (job) return forward(res, `/v1/jobs/${job[1]}`);
    return problem(res, 404, 'Not Found');
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) problem(res, 500, 'Internal Server Error');
      else res.destroy();
    });
  });
  const wanted = options.port ?? 8090;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'EADDRINUSE'
          ? new DevstackError(
              'TETHER_DEVSTACK_PORT_IN_USE',
              `the dev console's port ${wanted} is in use (--free-ports picks free ones)`,
              { cause: error },
            )
          : error,
      ),
    );
    server.listen(wanted, '127.0.0.1', () => {
      server.removeAllListeners('error');
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
