import pg from 'pg';

/** The parts of pg's protocol Connection used here (@types/pg does not declare them). */
interface CancelConnection {
  readonly stream: { destroy(): void; end(): void };
  connect(port: number, host: string): void;
  cancel(processID: number, secretKey: number): void;
  once(event: string, listener: () => void): void;
}

interface BackendKey {
  processID: number | null;
  secretKey: number | null;
  host?: string;
  port?: number;
}

/**
 * Sends Postgres a CancelRequest for whatever the client's backend is running, on a separate
 * connection (the protocol's only way: the busy connection cannot carry it). A client-side timeout
 * alone leaves the statement running and holding its locks; closing the socket is not noticed by the
 * server until the statement tries to send output. Resolves once the request was sent, the server
 * closed the cancel connection, or `timeoutMs` passed; never rejects (a failed cancel changes
 * nothing: the connection is evicted either way).
 */
export function sendCancelRequest(
  client: pg.PoolClient,
  ssl: pg.ClientConfig['ssl'],
  timeoutMs: number,
): Promise<void> {
  const key = client as unknown as BackendKey;
  if (key.processID === null || key.secretKey === null || !key.host || !key.port) return Promise.resolve();
  const { processID, secretKey } = key;
  const connection = new pg.Connection(ssl ? { ssl } : {}) as unknown as CancelConnection;
  return new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      connection.stream.destroy();
      resolve();
    };
    const timer = setTimeout(done, timeoutMs);
    const send = () => {
      connection.cancel(processID, secretKey);
      // The server closes the connection after reading the request; don't wait for more.
      connection.stream.end();
    };
    connection.once(ssl ? 'sslconnect' : 'connect', send);
    connection.once('end', done);
    connection.once('error', done);
    connection.connect(key.port as number, key.host as string);
  });
}
