import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { TetherInvalidOptionError } from '@tether/errors';

/** The part of a `ws` WebSocket the drainer uses (structural: the lib does not depend on ws). */
export interface WebSocketLike {
  readonly readyState: number;
  close(code?: number, reason?: string): void;
  terminate(): void;
  once(event: 'close', listener: () => void): unknown;
}

/** The part of a `ws` WebSocketServer the drainer uses. `clientTracking` must be on (ws's default). */
export interface WebSocketServerLike {
  readonly clients: Set<WebSocketLike>;
  readonly options: { server?: unknown; noServer?: boolean };
  close(callback?: (error?: Error) => void): void;
}

interface UpgradeEmitter {
  on(event: 'upgrade', listener: (req: IncomingMessage, socket: Duplex, head: Buffer) => void): unknown;
  listenerCount(event: string): number;
}

const CONNECTING = 0;
const OPEN = 1;

/**
 * Drains one `ws` server. ws 8's `close()` stops upgrades but leaves clients connected (and, with an
 * external HTTP server, removes its upgrade listener, after which Node would hand upgrade requests to
 * the app's request handler). So: stop upgrading with a 503, close each client with 1012 at a random
 * moment inside the window (clients reconnect spread out, not in one stampede), and at the deadline
 * `terminate()` whoever has not finished the closing handshake. No existing library does this
 * (terminus #222, http-terminator #41), hence this file.
 */
export class WebSocketDrainer {
  readonly #wss: WebSocketServerLike;
  readonly #timers = new Set<NodeJS.Timeout>();
  #closed: Promise<void> | undefined;

  constructor(wss: WebSocketServerLike) {
    if (!(wss.clients instanceof Set)) {
      throw new TetherInvalidOptionError(
        'trackWebSocketServer',
        'needs a WebSocketServer with clientTracking enabled (the ws default)',
      );
    }
    this.#wss = wss;
  }

  close(windowMs: number, code: number, random: () => number): Promise<void> {
    this.#closed ??= new Promise<void>((resolve) => {
      const httpServer = this.#wss.options.server as UpgradeEmitter | undefined;
      this.#wss.close();
      if (httpServer && typeof httpServer.on === 'function') {
        httpServer.on('upgrade', (_req, socket) => {
          // Only answer when no other upgrade handler (e.g. a second WebSocket server) is left.
          if (httpServer.listenerCount('upgrade') > 1) return;
          socket.end(
            'HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n' +
              'Retry-After: 1\r\nContent-Length: 0\r\n\r\n',
          );
        });
      }
      const clients = [...this.#wss.clients].filter(
        (ws) => ws.readyState === CONNECTING || ws.readyState === OPEN,
      );
      let open = clients.length;
      if (open === 0) return resolve();
      for (const ws of clients) {
        ws.once('close', () => {
          open -= 1;
          if (open === 0) resolve();
        });
        const timer = setTimeout(
          () => {
            this.#timers.delete(timer);
            ws.close(code, 'service restart');
          },
          Math.floor(random() * windowMs),
        );
        this.#timers.add(timer);
      }
    });
    return this.#closed;
  }

  force(): void {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    for (const ws of this.#wss.clients) ws.terminate();
  }

  get openClients(): number {
    return this.#wss.clients.size;
  }
}
