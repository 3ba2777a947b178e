import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2Session } from 'node:http2';
import type { Server as NetServer, Socket } from 'node:net';
import { Server as TlsServer } from 'node:tls';

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
 * progress finish, new ones go to a new connection. `close()` stops listening; `force()` destroys what
 * is left.
 *
 * Idle keep-alive connections are not reaped when the listener closes, unlike `server.close()` in
 * Node >= 19: "idle" there means the parser has not seen a request yet, while the client may already
 * have sent one (it sits in the kernel, or in a proxy). Destroying such a socket resets it (unread data
 * turns the FIN into an RST) and the client's request fails: the keep-alive race, worst on the busiest
 * connections, which are idle only for the instant between two requests. Here an idle connection is
 * closed only once it has carried nothing for `keepAliveGraceMs`, checked again after a fresh poll of
 * the sockets; a request arriving in the meantime is answered with `Connection: close`.
 */
export class HttpServerDrainer {
  readonly server: TrackableServer;
  readonly #http2: boolean;
  readonly #keepAliveGraceMs: number;
  readonly #sockets = new Set<Socket>();
  /**
   * The sockets the HTTP/1 parser reads: the TCP sockets of node:http (the same set as #sockets), the
   * TLS sockets of node:https; none for HTTP/2.
   */
  readonly #httpSockets: Set<Socket>;
  readonly #responses = new Map<ServerResponse, IncomingMessage>();
  readonly #sessions = new Set<Http2Session>();
  readonly #timers = new Set<NodeJS.Timeout>();
  #draining = false;
  #closed: Promise<void> | undefined;

  /** `keepAliveGraceMs`: see LifecycleOptions (validated there). */
  constructor(server: TrackableServer, keepAliveGraceMs: number) {
    this.server = server;
    this.#http2 = isHttp2(server);
    this.#keepAliveGraceMs = keepAliveGraceMs;
    // Every connection is tracked for its whole life (an idle WebSocket too), so the per-socket cost
    // is one set entry and one listener shared by all sockets: no closure per socket.
    const sockets = this.#sockets;
    const tls = !this.#http2 && server instanceof TlsServer;
    const httpSockets = (this.#httpSockets = tls || this.#http2 ? new Set<Socket>() : sockets);
    function forget(this: Socket): void {
      sockets.delete(this);
      httpSockets.delete(this);
    }
    server.on('connection', (socket: Socket) => {
      sockets.add(socket);
      socket.on('close', forget);
    });
    if (tls) {
      server.on('secureConnection', (socket: Socket) => {
        httpSockets.add(socket);
        socket.on('close', forget);
      });
    }
    // Prepended so the header is set before Express (or any other handler) writes the response.
    server.prependListener('request', (req: IncomingMessage, res: ServerResponse) => {
      this.#responses.set(res, req);
      res.once('close', () => this.#responses.delete(res));
      res.once('finish', () => {
        // A response whose headers went out before the drain (SSE, a download, a long poll) promised
        // keep-alive: when it ends, its socket turns idle and must be closed here, or it would hold
        // the drain until keepAliveTimeout (65 s).
        if (this.#closed && req.httpVersionMajor < 2) this.#closeWhenIdle(req.socket);
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

  /** A response is running on it, or it was upgraded (WebSocket: Node frees its parser; its own drainer closes it). */
  #busy(socket: Socket): boolean {
    if ((socket as Socket & { parser?: unknown }).parser === null) return true;
    for (const [res, req] of this.#responses) if (req.socket === socket && !res.writableFinished) return true;
    return false;
  }

  /**
   * Closes an HTTP/1 socket once it has been idle for the grace window: no response running and no
   * byte received (a partial request shows in bytesRead before the parser emits it). The last check
   * runs in setImmediate, right after a poll phase, so bytes already in the kernel have been read.
   */
  #closeWhenIdle(socket: Socket): void {
    const bytesRead = socket.bytesRead;
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      setImmediate(() => {
        if (socket.destroyed || this.#busy(socket)) return;
        if (socket.bytesRead !== bytesRead) return this.#closeWhenIdle(socket);
        socket.destroy();
      });
    }, this.#keepAliveGraceMs);
    this.#timers.add(timer);
  }

  /** Keep serving, but tell every client to go elsewhere for its next request. */
  startDraining(): void {
    this.#draining = true;
    for (const [res, req] of this.#responses) this.#markClose(req, res);
    for (const session of this.#sessions) session.close();
  }

  /** Stops listening, closes idle connections after the grace window; resolves once every connection has ended. */
  close(): Promise<void> {
    this.startDraining();
    this.#closed ??= new Promise<void>((resolve) => {
      const poll = setInterval(() => {
        if (this.server.listening || this.#sockets.size > 0) return;
        clearInterval(poll);
        for (const timer of this.#timers) clearTimeout(timer);
        resolve();
      }, 50);
      poll.unref();
      if (this.server.listening) this.#stopListening();
      // HTTP/2 sessions were sent GOAWAY (startDraining) and close when their streams end.
      for (const socket of this.#httpSockets) if (!this.#busy(socket)) this.#closeWhenIdle(socket);
    });
    return this.#closed;
  }

  /**
   * server.close() without the reaping of idle connections Node >= 19 does first (httpServerPreClose
   * calls `server.closeIdleConnections()`): shadowed for this one call, so the rest of Node's close
   * path (the connections-checking timer) still runs.
   */
  #stopListening(): void {
    if (this.#http2 || typeof this.server.closeIdleConnections !== 'function') {
      this.server.close();
      return;
    }
    const server = this.server as TrackableServer & { closeIdleConnections: () => void };
    server.closeIdleConnections = () => undefined;
    try {
      server.close();
    } finally {
      delete (server as { closeIdleConnections?: unknown }).closeIdleConnections;
    }
  }

  /** At the deadline: destroy every remaining connection (keep-alive, in-flight, HTTP/2, upgraded). */
  force(): void {
    for (const timer of this.#timers) clearTimeout(timer);
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
