import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

export interface ProbeResult {
  ok: boolean;
  body: Record<string, unknown>;
}

export type MetricsHandler = (req: IncomingMessage, res: ServerResponse) => void;

export interface AdminRoutes {
  livez(): ProbeResult;
  readyz(): ProbeResult;
  startupz(): ProbeResult;
  metrics(): MetricsHandler | undefined;
}

function send(res: ServerResponse, status: number, body: Record<string, unknown>): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  res.end(text);
}

/**
 * The admin server (ADMIN_PORT): probes and metrics, never exposed by the Service. Probes only read
 * state that is already computed, so they answer in microseconds whatever the dependencies do. It is
 * not drained at shutdown: the kubelet keeps probing readiness during termination and must read 503.
 */
export function createAdminServer(routes: AdminRoutes): Server {
  return createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, { error: 'method not allowed' });
    let probe: ProbeResult | undefined;
    if (path === '/livez') probe = routes.livez();
    else if (path === '/readyz') probe = routes.readyz();
    else if (path === '/startupz') probe = routes.startupz();
    else if (path === '/metrics') {
      const handler = routes.metrics();
      if (handler) return handler(req, res);
      return send(res, 404, { error: 'no metrics handler registered' });
    }
    if (!probe)
      return send(res, 404, {
        error: 'not found',
        endpoints: ['/livez', '/readyz', '/startupz', '/metrics'],
      });
    send(res, probe.ok ? 200 : 503, probe.body);
  });
}
