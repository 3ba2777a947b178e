import type WebSocket from 'ws';

/**
 * Client-side ping/pong. A blackholed connection (a NAT entry that forgot us, a dead node) sends no
 * FIN or RST, and TCP keepalive would take minutes to notice (FIELD-NOTES), so the client pings
 * every `pingIntervalMs` and calls `onTimeout` when no pong comes within `pongTimeoutMs`.
 * Worst-case detection: pingIntervalMs + pongTimeoutMs after the path died.
 */
export function startHeartbeat(
  socket: WebSocket,
  options: { pingIntervalMs: number; pongTimeoutMs: number; onTimeout: () => void },
): () => void {
  let pongTimer: NodeJS.Timeout | undefined;
  const onPong = () => {
    clearTimeout(pongTimer);
    pongTimer = undefined;
  };
  socket.on('pong', onPong);
  const pingTimer = setInterval(() => {
    // A pong still outstanding keeps its original deadline; a second ping must not extend it.
    if (pongTimer === undefined) {
      pongTimer = setTimeout(() => {
        stop();
        options.onTimeout();
      }, options.pongTimeoutMs);
    }
    socket.ping();
  }, options.pingIntervalMs);
  const stop = () => {
    clearInterval(pingTimer);
    clearTimeout(pongTimer);
    pongTimer = undefined;
    socket.off('pong', onPong);
  };
  return stop;
}
