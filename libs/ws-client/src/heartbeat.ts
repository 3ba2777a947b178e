import type { Connection } from './transport.ts';

export interface Heartbeat {
  /** A pong arrived. */
  pong(): void;
  stop(): void;
}

/**
 * Client-side ping/pong. A blackholed connection (a NAT entry that forgot us, a dead node) sends no
 * FIN or RST, and TCP keepalive would take minutes to notice (FIELD-NOTES), so the client pings
 * every `pingIntervalMs` and calls `onTimeout` when no pong comes within `pongTimeoutMs`.
 * Worst-case detection: pingIntervalMs + pongTimeoutMs after the path died. A connection that cannot
 * ping (browsers) gets none: the browser's own TCP handling is all there is.
 */
export function startHeartbeat(
  connection: Connection,
  options: { pingIntervalMs: number; pongTimeoutMs: number; onTimeout: () => void },
): Heartbeat {
  const ping = connection.ping;
  if (!ping) return { pong: () => undefined, stop: () => undefined };
  let pongTimer: ReturnType<typeof setTimeout> | undefined;
  const pingTimer = setInterval(() => {
    // A pong still outstanding keeps its original deadline; a second ping must not extend it.
    if (pongTimer === undefined) {
      pongTimer = setTimeout(() => {
        stop();
        options.onTimeout();
      }, options.pongTimeoutMs);
    }
    ping();
  }, options.pingIntervalMs);
  const stop = (): void => {
    clearInterval(pingTimer);
    clearTimeout(pongTimer);
    pongTimer = undefined;
  };
  return {
    pong: () => {
      clearTimeout(pongTimer);
      pongTimer = undefined;
    },
    stop,
  };
}
