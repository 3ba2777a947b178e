/**
 * Whether an error means the connection it happened on can no longer be trusted. Such a client is
 * evicted (socket destroyed) instead of being returned to the pool for the next caller to trip over.
 */
export function isConnectionBroken(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, message, severity } = error as { code?: unknown; message?: unknown; severity?: unknown };
  if (typeof code === 'string') {
    if (typeof severity === 'string') {
      // 57P0x: the server is shutting down / terminated us / idle-session reaped us. 08xxx: connection exception.
      return code.startsWith('57P0') || code.startsWith('08') || severity === 'FATAL' || severity === 'PANIC';
    }
    if (SOCKET_ERRNOS.has(code)) return true;
  }
  // node-postgres' own errors carry no code; these leave the client with a dead socket or a statement
  // still running on the server (query_timeout does not cancel it).
  return typeof message === 'string' && BROKEN_MESSAGES.has(message);
}

const SOCKET_ERRNOS = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ERR_STREAM_DESTROYED',
]);

const BROKEN_MESSAGES = new Set([
  'Connection terminated unexpectedly',
  'Connection terminated',
  'Query read timeout',
  'Client has encountered a connection error and is not queryable',
  'Client was closed and is not queryable',
]);
