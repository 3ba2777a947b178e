import { TetherError } from '@tether/retry';

/**
 * The server refused our credentials: HTTP 401/403 on the upgrade, or a 4401/4403 close after it.
 * Not retryable: the same token would be refused again, so the client stops instead of hammering
 * the gateway. Fix the token (or its refresh) and create a new client.
 */
export class WsAuthError extends TetherError {
  declare readonly code: 'TETHER_WS_AUTH_FAILED';
  /** The HTTP status of the refused upgrade, or the WebSocket close code. */
  readonly status: number;
  constructor(status: number) {
    super('TETHER_WS_AUTH_FAILED', `WebSocket gateway refused the credentials (${status})`, {
      retryable: false,
    });
    this.status = status;
  }
}

/**
 * The upgrade was answered with an HTTP status that no retry can fix (404 wrong path, 400…).
 * 5xx, 408 and 429 are retried with backoff instead and never end up here.
 */
export class WsRejectedError extends TetherError {
  declare readonly code: 'TETHER_WS_REJECTED';
  readonly status: number;
  constructor(status: number) {
    super('TETHER_WS_REJECTED', `WebSocket upgrade rejected with HTTP ${status}`, { retryable: false });
    this.status = status;
  }
}

/**
 * One connection ended unexpectedly (refused connect, 1006, reset, handshake timeout). Retryable:
 * the client reconnects with backoff by itself; this is what `disconnected` listeners see.
 */
export class WsConnectionError extends TetherError {
  declare readonly code: 'TETHER_WS_CONNECTION_LOST';
  /** The close code, when the connection had opened (1006 for an abrupt end). */
  readonly closeCode: number | undefined;
  constructor(message: string, options: { closeCode?: number; cause?: unknown }) {
    super(
      'TETHER_WS_CONNECTION_LOST',
      message,
      options.cause === undefined ? { retryable: true } : { retryable: true, cause: options.cause },
    );
    this.closeCode = options.closeCode;
  }
}

/** No pong within `pongTimeoutMs` of a ping: the peer or the path is dead (blackholed NAT entry). */
export class WsHeartbeatTimeoutError extends TetherError {
  declare readonly code: 'TETHER_WS_HEARTBEAT_TIMEOUT';
  readonly pongTimeoutMs: number;
  constructor(pongTimeoutMs: number) {
    super('TETHER_WS_HEARTBEAT_TIMEOUT', `no pong within ${pongTimeoutMs} ms: connection presumed dead`, {
      retryable: true,
    });
    this.pongTimeoutMs = pongTimeoutMs;
  }
}

/** `subscribe()`/`unsubscribe()` after `close()`. */
export class WsClientClosedError extends TetherError {
  declare readonly code: 'TETHER_WS_CLIENT_CLOSED';
  constructor() {
    super('TETHER_WS_CLIENT_CLOSED', 'the WebSocket client is closed', { retryable: false });
  }
}

/**
 * The token function did not settle within `tokenTimeoutMs` (a hung identity provider or refresh
 * call). Retryable: the attempt counts as a failure and the client tries again after its backoff,
 * calling the function afresh; the function's `signal` aborts with this error.
 */
export class WsTokenTimeoutError extends TetherError {
  declare readonly code: 'TETHER_WS_TOKEN_TIMEOUT';
  readonly tokenTimeoutMs: number;
  constructor(tokenTimeoutMs: number) {
    super('TETHER_WS_TOKEN_TIMEOUT', `the token function did not settle within ${tokenTimeoutMs} ms`, {
      retryable: true,
    });
    this.tokenTimeoutMs = tokenTimeoutMs;
  }
}
