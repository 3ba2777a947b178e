import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2Session } from 'node:http2';
import type { Server as NetServer, Socket } from 'node:net';

/** Any of node:http, node:https, node:http2 (plain or secure) servers; Express's `app.listen()` returns one. */
export type TrackableServer = NetServer & {
  close(callback?: (error?: Error) => void): unknown;
  closeIdleConnections?: () => void;
  closeAllConnections?: () => void;
};

export interface HttpDrainState {
  kind: 'http' | 'http2';
  listening: boolean;
  openConnections: number;
  /** `METHOD /path` of requests still running (query strings left out: they may carry tokens). */
  inFlight: string[];
}

function isHttp2(server: TrackableServer): boolean {
  // Http2Server and Http2SecureServer are not exported as classes; updateSettings is theirs alone.
  return typeof (server as { updateSettings?: unknown }).updateSettings === 'function';
}

function pathOf(req: IncomingMessage): string {
  const url = req.url ?? '';
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}

/**
 * Drains one HTTP server. While draining, every HTTP/1 response carries `Connection: close` (also the
 * ones already running, if their headers are not sent), so keep-alive clients reconnect, through the
 * Service, to a pod that is not going away. HTTP/2 sessions get GOAWAY (`session.close()`): streams in
 * progress finish, new ones go to a new connection. `close()` stops listening and reaps idle
 * keep-alive sockets (Node >= 19 does that in `server.close()`); `force()` destroys what is left.
 */
export class HttpServerDrainer {
  readonly server: TrackableServer;
  readonly #http2: boolean;
  readonly #sockets = new Set<Socket>();
  readonly #responses = new Map<ServerResponse, IncomingMessage>();
  readonly #sessions = new Set<Http2Session>();
  #draining = false;
  #closed: Promise<void> | undefined;

  constructor(server: TrackableServer) {
    this.server = server;
    this.#http2 = isHttp2(server);
    server.on('connection', (socket: Socket) => {
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
    });
    // Prepended so the header is set before Express (or any other handler) writes the response.
    server.prependListener('request', (req: IncomingMessage, res: ServerResponse) => {
      this.#responses.set(res, req);
      res.once('close', () => this.#responses.delete(res));
      res.once('finish', () => {
        if (this.#draining && req.httpVersionMajor < 2) this.#closeWhenIdle(req.socket);
      });
      if (this.#draining) this.#markClose(req, res);
    });
    if (this.#http2) {
      server.on('session', (session: Http2Session) => {
        this.#sessions.add(session);
        session.once('close', () => this.#sessions.delete(session));
        if (this.#draining) session.close();
      });
    }
  }

  #markClose(req: IncomingMessage, res: ServerResponse): void {
    // Connection-specific headers are illegal in HTTP/2 (allowHTTP1 servers see both versions).
    if (req.httpVersionMajor < 2 && !res.headersSent) res.setHeader('connection', 'close');
  }

  /**
   * A response whose headers went out before the drain (SSE, a download, a long poll) promised
   * keep-alive and cannot take `Connection: close` back. When it finishes, its socket turns idle,
   * and `server.close()` reaped idle sockets only once, when it was called: this one would stay
   * open until keepAliveTimeout (65 s) and hold the drain until the deadline. So a socket whose last
   * response finished while draining is ended (after Node's own finish handling, hence setImmediate).
   */
  #closeWhenIdle(socket: Socket): void {
    setImmediate(() => {
      if (socket.destroyed) return;
      // A pipelined request already on this socket still gets its answer (with Connection: close).
      for (const [res, req] of this.#responses) if (req.socket === socket && !res.writableFinished) return;
      socket.destroySoon();
    });
  }

  /** Keep serving, but tell every client to go elsewhere for its next request. */
  startDraining(): void {
    this.#draining = true;
    for (const [res, req] of this.#responses) this.#markClose(req, res);
    for (const session of this.#sessions) session.close();
  }

  /** Stops listening, closes idle connections; resolves once every connection has ended. */
  close(): Promise<void> {
    this.#draining = true;
    this.#closed ??= new Promise<void>((resolve) => {
      if (!this.server.listening) {
        if (this.#sockets.size === 0) return resolve();
        const poll = setInterval(() => {
          if (this.#sockets.size === 0) {
            clearInterval(poll);
            resolve();
          }
        }, 50);
        poll.unref();
        return;
      }
      this.server.close(() => resolve());
      this.server.closeIdleConnections?.();
      for (const session of this.#sessions) session.close();
    });
    return this.#closed;
  }

  /** At the deadline: destroy every remaining connection (keep-alive, in-flight, HTTP/2, upgraded). */
  force(): void {
    for (const session of this.#sessions) session.destroy();
    this.server.closeAllConnections?.();
    for (const socket of this.#sockets) socket.destroy();
  }

  state(): HttpDrainState {
    return {
      kind: this.#http2 ? 'http2' : 'http',
      listening: this.server.listening,
      openConnections: this.#sockets.size,
      inFlight: [...this.#responses.values()].map((req) => `${req.method ?? '?'} ${pathOf(req)}`),
    };
  }
}
