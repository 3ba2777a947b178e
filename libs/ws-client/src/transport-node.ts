import WebSocket from 'ws';
import type { Connection, Transport } from './transport.ts';

const states = ['connecting', 'open', 'closing', 'closed'] as const;

/** Node: the `ws` package, with the upgrade's HTTP status, pings, and the pass-through options. */
export const nodeTransport: Transport = (url, settings, handlers) => {
  const socket = new WebSocket(url, {
    ...settings.ws,
    headers: settings.headers,
    handshakeTimeout: settings.handshakeTimeoutMs,
  });
  let httpStatus: number | undefined;
  let error: Error | undefined;
  socket.on('unexpected-response', (_request, response) => {
    httpStatus = response.statusCode;
    response.resume();
    socket.terminate();
  });
  socket.on('error', (e) => (error = e));
  socket.on('open', () => handlers.open());
  socket.on('pong', () => handlers.pong());
  socket.on('message', (data, isBinary) => {
    if (!isBinary) handlers.message(data.toString());
  });
  socket.on('close', (code) =>
    handlers.close(code, {
      ...(httpStatus === undefined ? {} : { httpStatus }),
      ...(error === undefined ? {} : { error }),
    }),
  );
  const connection: Connection = {
    get state() {
      return states[socket.readyState]!;
    },
    send: (text) => socket.send(text),
    close: (code, reason) => socket.close(code, reason),
    terminate: () => socket.terminate(),
    ping: () => socket.ping(),
  };
  return connection;
};
