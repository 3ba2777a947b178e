import type { Connection, Transport } from './transport.ts';

const states = ['connecting', 'open', 'closing', 'closed'] as const;

/**
 * Browsers: the native WebSocket. It can send no headers (the token goes in the query), cannot ping,
 * and hides the upgrade's HTTP status (a refused upgrade is a 1006 close), so auth failures on the
 * upgrade look like network failures here and are retried with backoff.
 */
export const browserTransport: Transport = (url, _settings, handlers) => {
  const socket = new WebSocket(url);
  let failed = false;
  socket.addEventListener('open', () => handlers.open());
  socket.addEventListener('message', (event: MessageEvent) => {
    if (typeof event.data === 'string') handlers.message(event.data);
  });
  socket.addEventListener('error', () => (failed = true));
  socket.addEventListener('close', (event: CloseEvent) =>
    handlers.close(event.code, failed ? { error: new Error('WebSocket error') } : {}),
  );
  let terminated = false;
  const connection: Connection = {
    get state() {
      return terminated ? 'closed' : states[socket.readyState]!;
    },
    send: (text) => socket.send(text),
    close: (code, reason) => socket.close(code, reason),
    // The browser API has no abort: close and report the end at once, as ws' terminate() does.
    terminate: () => {
      if (terminated) return;
      terminated = true;
      socket.close();
      handlers.close(1006, {});
    },
  };
  return connection;
};
