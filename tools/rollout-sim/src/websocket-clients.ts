import { WebSocket } from 'ws';
import { integerOption, invalidOption } from './errors.ts';

export interface WebSocketClientsOptions {
  /** ws:// URL (usually through the LoadBalancer). */
  url: string;
  /** Clients kept connected. */
  clients: number;
  /** Handshake headers (e.g. authorization). */
  headers?: Record<string, string>;
  /** Sent once after every open (e.g. a subscribe frame). */
  message?: string;
  /** Wait before reconnecting after a close or a failed connect. Default 100 ms. */
  reconnectDelayMs?: number;
  /** A handshake without an answer after this long is a failed connect ('timeout'). Default 5000 ms. */
  connectTimeoutMs?: number;
  /** Aborting closes every client (code 1000) and resolves the run. */
  signal: AbortSignal;
  /** Called for every open, close and failed connect. */
  onEvent?: (event: WebSocketClientEvent) => void;
}

export interface WebSocketClientEvent {
  client: number;
  kind: 'open' | 'close' | 'connect-failed';
  /** performance.now() */
  at: number;
  /** Close code ('close'). */
  code?: number;
  /** Failure kind ('connect-failed'): errno, 'status 503', 'timeout'. */
  failure?: string;
}

export interface WebSocketClientRecord {
  client: number;
  /** Successful handshakes. */
  opens: number;
  /** Close codes the server (or the network) ended this client's connections with, in order. */
  closes: number[];
  /** Handshakes that failed, by kind, in order. */
  connectFailures: string[];
  /** Every close was followed by a successful reconnect. */
  reconnectedAfterEveryClose: boolean;
}

export interface WebSocketReport {
  clients: WebSocketClientRecord[];
  opens: number;
  /** Close code -> count, over all clients (the clients' own closes at the end are not counted). */
  closesByCode: Record<string, number>;
  /** Failure kind -> count. */
  connectFailures: Record<string, number>;
}

/**
 * Keeps N WebSocket clients connected, reconnecting each one after every close or failed handshake,
 * and records how each connection ended. Close codes tell a graceful drain (1012 service restart,
 * 1001 going away) from a connection that died (1006: no close frame — a killed pod, a reset).
 */
export async function runWebSocketClients(options: WebSocketClientsOptions): Promise<WebSocketReport> {
  const url = new URL(options.url);
  if (url.protocol !== 'ws:') throw invalidOption('url', `must be a ws:// URL, got ${options.url}`);
  const count = integerOption('clients', options.clients, 0, 1);
  const reconnectDelayMs = integerOption('reconnectDelayMs', options.reconnectDelayMs, 100);
  const connectTimeoutMs = integerOption('connectTimeoutMs', options.connectTimeoutMs, 5000, 1);
  const { signal } = options;
  const records: WebSocketClientRecord[] = Array.from({ length: count }, (_, client) => ({
    client,
    opens: 0,
    closes: [],
    connectFailures: [],
    reconnectedAfterEveryClose: true,
  }));

  const runClient = (record: WebSocketClientRecord): Promise<void> =>
    new Promise<void>((resolve) => {
      let socket: WebSocket | undefined;
      let retry: NodeJS.Timeout | undefined;
      const emit = (event: Omit<WebSocketClientEvent, 'client' | 'at'>): void =>
        options.onEvent?.({ client: record.client, at: performance.now(), ...event });
      const again = (): void => {
        if (!signal.aborted) retry = setTimeout(connect, reconnectDelayMs);
      };
      const connect = (): void => {
        let opened = false;
        const ws = new WebSocket(url, { headers: options.headers, handshakeTimeout: connectTimeoutMs });
        socket = ws;
        ws.on('open', () => {
          opened = true;
          record.opens += 1;
          record.reconnectedAfterEveryClose = true;
          emit({ kind: 'open' });
          if (options.message !== undefined) ws.send(options.message);
        });
        ws.on('unexpected-response', (_req, res) => {
          res.resume();
          ws.emit(
            'error',
            Object.assign(new Error('unexpected response'), { code: `status ${res.statusCode}` }),
          );
        });
        ws.on('error', (error: NodeJS.ErrnoException) => {
          if (opened || signal.aborted) return;
          const kind = /timed out/i.test(error.message) ? 'timeout' : (error.code ?? error.message);
          record.connectFailures.push(kind);
          emit({ kind: 'connect-failed', failure: kind });
        });
        ws.on('close', (code) => {
          if (signal.aborted) return resolve();
          if (opened) {
            record.closes.push(code);
            record.reconnectedAfterEveryClose = false;
            emit({ kind: 'close', code });
          }
          again();
        });
      };
      signal.addEventListener(
        'abort',
        () => {
          clearTimeout(retry);
          if (!socket || socket.readyState === WebSocket.CLOSED) return resolve();
          socket.once('close', () => resolve());
          if (socket.readyState === WebSocket.OPEN) socket.close(1000, 'done');
          else socket.terminate();
        },
        { once: true },
      );
      connect();
    });

  await Promise.all(records.map(runClient));
  const report: WebSocketReport = { clients: records, opens: 0, closesByCode: {}, connectFailures: {} };
  for (const record of records) {
    report.opens += record.opens;
    for (const code of record.closes) report.closesByCode[code] = (report.closesByCode[code] ?? 0) + 1;
    for (const kind of record.connectFailures)
      report.connectFailures[kind] = (report.connectFailures[kind] ?? 0) + 1;
  }
  return report;
}
