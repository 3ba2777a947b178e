import { Agent, request } from 'node:http';
import { integerOption, invalidOption } from './errors.ts';

export interface LoadOptions {
  /** Target URL (usually the LoadBalancer's url + a path). */
  url: string;
  /** Requests started per second (open loop: the schedule does not wait for responses). */
  ratePerSec: number;
  /** How long to send. The run then waits for the requests still in flight. */
  durationMs: number;
  /**
   * Keep-alive connections the client pool may have open at once; requests beyond them wait for a
   * free one. Default 16. Not used with `keepAlive: false`.
   */
  maxSockets?: number;
  /**
   * Reuse connections (default true). false: one TCP connection per request (`Connection: close`),
   * opened when the request is due, like traffic from many independent clients: no request waits
   * for another's connection, and every request is routed by the Service anew, so a pod that stops
   * listening while its endpoint is still routed refuses requests.
   */
  keepAlive?: boolean;
  /**
   * A request without a response this long after it was due counts as failed ('timeout'), time
   * spent waiting for a free keep-alive connection included: a client that cannot keep up fails
   * requests instead of queueing them without bound. Default 10000 ms.
   */
  timeoutMs?: number;
  /** Response header naming the pod that answered; counted in `byResponder`. Default 'x-pod'. */
  responderHeader?: string;
  /** Stops sending early. */
  signal?: AbortSignal;
  /** HTTP method. Default 'GET'. */
  method?: string;
  /** Request headers (e.g. authorization). */
  headers?: Record<string, string>;
  /** Request body, sent with every request (set content-type in `headers`). */
  body?: string;
  /** Called with every request's outcome, e.g. to plot failures over time. */
  onOutcome?: (outcome: RequestOutcome) => void;
}

export interface RequestOutcome {
  /** performance.now() when the request was sent. */
  startedAt: number;
  durationMs: number;
  /** The failure kind; undefined for a success. */
  failure?: string;
  responder?: string;
}

export interface LoadReport {
  sent: number;
  succeeded: number;
  failed: number;
  /** Failure kind ('ECONNRESET', 'socket hang up', 'status 503', 'timeout', ...) -> count. */
  failures: Record<string, number>;
  /** Pod name (from the responder header) -> successful responses. */
  byResponder: Record<string, number>;
  /** New TCP connections the agent had to open (keep-alive reuse shows as few). */
  connectionsOpened: number;
  durationMs: number;
  /** sent / duration of the sending phase. */
  achievedRatePerSec: number;
}

const tickMs = 10;

/**
 * A fixed-rate HTTP load generator: over a bounded pool of keep-alive connections (node:http Agent,
 * as most Node clients use), or one connection per request, opened when it is due. Fixed rate,
 * fixed duration, every request's outcome classified. Failures are what a caller would see:
 * connection errors, 5xx/other non-2xx, timeouts. No retries, on purpose.
 *
 * Why one connection per request has no pool limit: a bounded pool is one FIFO queue shared by
 * every request. Once the server answers slower than maxSockets / rate for long enough, the queue's
 * wait passes `timeoutMs`, and until the queue has drained every request expires in it or right
 * after leaving it: at a rate the server barely sustains, 0 successes for the rest of the run while
 * the server answers everything it is sent. Independent clients do not queue behind each other.
 */
export async function runLoad(options: LoadOptions): Promise<LoadReport> {
  const url = new URL(options.url);
  const rate = integerOption('ratePerSec', options.ratePerSec, 0, 1);
  const durationMs = integerOption('durationMs', options.durationMs, 0, 1);
  const timeoutMs = integerOption('timeoutMs', options.timeoutMs, 10_000, 1);
  const maxSockets = integerOption('maxSockets', options.maxSockets, 16, 1);
  const header = (options.responderHeader ?? 'x-pod').toLowerCase();
  if (url.protocol !== 'http:') throw invalidOption('url', `must be an http:// URL, got ${options.url}`);

  if (options.keepAlive !== undefined && typeof options.keepAlive !== 'boolean')
    throw invalidOption('keepAlive', `must be true or false, got ${String(options.keepAlive)}`);
  const keepAlive = options.keepAlive ?? true;
  const agent = new Agent({ keepAlive, maxSockets: keepAlive ? maxSockets : Infinity });
  const report: LoadReport = {
    sent: 0,
    succeeded: 0,
    failed: 0,
    failures: {},
    byResponder: {},
    connectionsOpened: 0,
    durationMs: 0,
    achievedRatePerSec: 0,
  };
  const fail = (kind: string): void => {
    report.failed += 1;
    report.failures[kind] = (report.failures[kind] ?? 0) + 1;
  };
  const inFlight = new Set<Promise<void>>();
  const method = options.method ?? 'GET';
  const headers = { ...options.headers };
  // Explicit, so the server (and a reader of its logs) sees every request as the end of its connection.
  if (!keepAlive) headers['connection'] = 'close';
  if (options.body !== undefined) headers['content-length'] = String(Buffer.byteLength(options.body));
  const one = (): Promise<void> =>
    new Promise<void>((resolve) => {
      let settled = false;
      const startedAt = performance.now();
      const settle = (kind?: string, responder?: string): void => {
        if (settled) return;
        settled = true;
        options.onOutcome?.({
          startedAt,
          durationMs: performance.now() - startedAt,
          ...(kind === undefined ? {} : { failure: kind }),
          ...(responder === undefined ? {} : { responder }),
        });
        if (kind === undefined) {
          report.succeeded += 1;
          if (responder) report.byResponder[responder] = (report.byResponder[responder] ?? 0) + 1;
        } else fail(kind);
        resolve();
      };
      const req = request(url, { agent, timeout: timeoutMs, method, headers }, (res) => {
        const status = res.statusCode ?? 0;
        const responder = res.headers[header];
        res.resume();
        res.once('end', () =>
          settle(
            status >= 200 && status < 300 ? undefined : `status ${status}`,
            typeof responder === 'string' ? responder : undefined,
          ),
        );
        res.once('error', (error: NodeJS.ErrnoException) => settle(error.code ?? error.message));
      });
      req.once('socket', (socket) => {
        // A fresh socket is not yet connected; a reused keep-alive socket is.
        if (socket.connecting) report.connectionsOpened += 1;
      });
      const timedOut = (): void => {
        req.destroy(Object.assign(new Error('timeout'), { code: 'timeout' }));
      };
      req.once('timeout', timedOut);
      const deadline = setTimeout(timedOut, timeoutMs);
      req.once('close', () => clearTimeout(deadline));
      req.once('error', (error: NodeJS.ErrnoException) => settle(error.code ?? error.message));
      req.end(options.body);
    });

  const startedAt = performance.now();
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const elapsed = performance.now() - startedAt;
      if (elapsed >= durationMs || options.signal?.aborted) {
        clearInterval(timer);
        return resolve();
      }
      const due = Math.floor((elapsed / 1000) * rate) - report.sent;
      for (let i = 0; i < due; i += 1) {
        report.sent += 1;
        const p = one().finally(() => inFlight.delete(p));
        inFlight.add(p);
      }
    }, tickMs);
  });
  const sendingMs = performance.now() - startedAt;
  await Promise.all([...inFlight]);
  agent.destroy();
  report.durationMs = Math.round(performance.now() - startedAt);
  report.achievedRatePerSec = Math.round(report.sent / (sendingMs / 1000));
  return report;
}
