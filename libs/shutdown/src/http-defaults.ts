import { numberOption, TetherInvalidOptionError } from '@tether/errors';

export interface HttpServerTimeouts {
  /**
   * Idle keep-alive sockets are closed after this. Must exceed the load balancer's idle timeout, or the
   * LB reuses a socket Node just closed and answers 502 (AWS ALB: 60 s; Node's default is 5 s). Default 65000 ms.
   */
  keepAliveTimeoutMs?: number;
  /** Time to receive the request headers. Must exceed keepAliveTimeoutMs (Node's rule for reused sockets). Default 66000 ms. */
  headersTimeoutMs?: number;
  /** Time to receive the whole request. 0 disables; otherwise must be >= headersTimeoutMs. Default 300000 ms (Node's). */
  requestTimeoutMs?: number;
}

interface TimeoutServer {
  keepAliveTimeout: number;
  headersTimeout: number;
  requestTimeout: number;
}

/**
 * Sets timeouts that outlive load-balancer idle timeouts on a node:http / node:https server (what
 * Express's `app.listen()` returns). HTTP/2 servers have no keep-alive timeout to tune: use
 * `server.setTimeout()` there.
 */
export function applyHttpServerDefaults<S extends TimeoutServer>(
  server: S,
  timeouts: HttpServerTimeouts = {},
): S {
  const keepAliveTimeoutMs = timeouts.keepAliveTimeoutMs ?? 65_000;
  const headersTimeoutMs = timeouts.headersTimeoutMs ?? 66_000;
  const requestTimeoutMs = timeouts.requestTimeoutMs ?? 300_000;
  for (const [name, value] of Object.entries({ keepAliveTimeoutMs, headersTimeoutMs, requestTimeoutMs }))
    numberOption(name, value, 0, { min: 0, integer: true });
  if (headersTimeoutMs <= keepAliveTimeoutMs) {
    throw new TetherInvalidOptionError(
      'headersTimeoutMs',
      `must be > keepAliveTimeoutMs (${keepAliveTimeoutMs} ms)`,
      { value: headersTimeoutMs },
    );
  }
  if (requestTimeoutMs !== 0 && requestTimeoutMs < headersTimeoutMs) {
    throw new TetherInvalidOptionError(
      'requestTimeoutMs',
      `must be 0 or >= headersTimeoutMs (${headersTimeoutMs} ms)`,
      { value: requestTimeoutMs },
    );
  }
  server.keepAliveTimeout = keepAliveTimeoutMs;
  server.headersTimeout = headersTimeoutMs;
  server.requestTimeout = requestTimeoutMs;
  return server;
}
