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
 * Answers GET/HEAD /livez, /readyz, /startupz and /metrics; any other path is left to `next` (and
 * false returned), so one function serves as a plain request handler and as Express middleware.
 * Probes only read state that is already computed, so they answer in microseconds whatever the
 * dependencies do.
 */
export type ProbeHandler = (
  req: IncomingMessage,
  res: ServerResponse,
  next?: (error?: unknown) => void,
) => boolean;

const endpoints = ['/livez', '/readyz', '/startupz', '/metrics'];

export function createProbeHandler(routes: AdminRoutes): ProbeHandler {
  return (req, res, next) => {
    const path = (req.url ?? '/').split('?')[0];
    if (!endpoints.includes(path ?? '')) {
      next?.();
      return false;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(res, 405, { error: 'method not allowed' });
      return true;
    }
    if (path === '/metrics') {
      const handler = routes.metrics();
      if (handler) handler(req, res);
      else send(res, 404, { error: 'no metrics handler registered' });
      return true;
    }
    const probe =
      path === '/livez' ? routes.livez() : path === '/readyz' ? routes.readyz() : routes.startupz();
    send(res, probe.ok ? 200 : 503, probe.body);
    return true;
  };
}

/**
 * The admin server (ADMIN_PORT): probes and metrics, never exposed by the Service. It is not
 * drained at shutdown: the kubelet keeps probing readiness during termination and must read 503.
 */
export function createAdminServer(handler: ProbeHandler): Server {
  return createServer((req, res) => {
    if (!handler(req, res)) send(res, 404, { error: 'not found', endpoints });
  });
}
