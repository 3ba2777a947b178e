/**
 * The WebSocket gateway: authenticates before the upgrade, then per connection parses client
 * messages, enforces the limits, keeps the heartbeat, closes slow consumers and expired tokens,
 * and hands subscriptions to the hub. One stream reader feeds every connection.
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { bearerToken, TokenKeysUnavailableError, type TokenVerifier } from '@tether/auth';
import type { Queryable } from '@tether/jobs';
import type { TetherRedis } from '@tether/pooling';
import { type WebSocket, WebSocketServer } from 'ws';
import { Hub, type Subscriber } from './hub.ts';
import { type GatewayOptions, resolveGatewayOptions } from './options.ts';
import { clientMessage, CLOSE, errorFrame, type ErrorCode } from './protocol.ts';
import { StreamReader } from './stream-reader.ts';

export const STREAM_PATH = '/v1/stream';

export interface GatewayDeps {
  db: Queryable;
  /** A worker-profile client: its blocking XREADs must not be cut by a command timeout. */
  redis: TetherRedis;
  verify: TokenVerifier;
  options?: Partial<GatewayOptions>;
  /** False once the pod is shutting down: new upgrades get 503 and go to another replica. */
  accepting?: () => boolean;
  log?: (level: 'info' | 'warn', message: string, fields?: Record<string, unknown>) => void;
}

function reject(socket: Duplex, status: number, title: string, headers: Record<string, string> = {}): void {
  const body = JSON.stringify({ type: 'about:blank', title, status });
  const extra = Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  // As ws's own abortHandshake: close our side once the answer is flushed, whatever the client does.
  socket.once('finish', () => socket.destroy());
  socket.end(
    `HTTP/1.1 ${status} ${title}\r\nContent-Type: application/problem+json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n${extra}\r\n${body}`,
  );
}

/**
 * A listener defined here, not inline: a closure created in `upgrade` would share that function's
 * context, which holds the request (headers, URL) for as long as the socket lives: about 1.6 KiB per
 * idle connection, measured by the ws benchmark.
 */
function ignore(): void {}

class Connection implements Subscriber {
  readonly owner: string;
  private readonly ws: WebSocket;
  private readonly gateway: Gateway;
  private tokens: number;
  private refilledAt = Date.now();
  private rateLimited = 0;
  /** Subscribes still reading history: they count against the limit before they are registered. */
  private pendingSubscribes = 0;
  /** A ping went out and no pong came back yet (the gateway's heartbeat sweep reads it). */
  awaitingPong = false;
  private expiry: NodeJS.Timeout | undefined;

  constructor(gateway: Gateway, ws: WebSocket, owner: string, expiresAt: number | undefined) {
    this.gateway = gateway;
    this.ws = ws;
    this.owner = owner;
    const o = gateway.options;
    this.tokens = o.messageBurst;
    ws.on('message', (data, isBinary) => void this.onMessage(data.toString(), isBinary));
    ws.on('pong', () => {
      this.awaitingPong = false;
    });
    ws.on('close', () => this.onClose());
    ws.on('error', () => {});
    if (expiresAt !== undefined) {
      // setTimeout's ceiling is ~24.8 days; a token living longer is checked again later.
      const delay = Math.min(Math.max(0, expiresAt - Date.now()), 2_000_000_000);
      this.expiry = setTimeout(() => this.ws.close(CLOSE.tokenInvalid, 'token expired'), delay);
    }
  }

  /** Pings the peer; the gateway's sweep terminates it if no pong came back by the deadline. */
  ping(): void {
    if (this.awaitingPong) {
      this.terminate(); // missed a pong: a dead peer or a path that forgot us
      return;
    }
    this.awaitingPong = true;
    this.ws.ping();
  }

  terminate(): void {
    this.ws.terminate();
  }

  send(frame: string): void {
    if (this.ws.readyState !== this.ws.OPEN) return;
    this.ws.send(frame);
    if (this.ws.bufferedAmount > this.gateway.options.maxBufferedBytes) {
      // A slow consumer must not hold the gateway's memory; it resumes with `after` when it is back.
      if (this.ws.readyState === this.ws.OPEN) this.gateway.stats.slowConsumersClosed += 1;
      this.ws.close(CLOSE.tryAgainLater, 'slow consumer');
      const hard = setTimeout(() => this.ws.terminate(), 1_000);
      hard.unref();
    }
  }

  unavailable(reason: string): void {
    this.ws.close(CLOSE.tryAgainLater, reason);
  }

  private error(code: ErrorCode, message: string, jobId?: string): void {
    this.send(errorFrame(code, message, jobId));
  }

  private allow(): boolean {
    const o = this.gateway.options;
    const now = Date.now();
    this.tokens = Math.min(
      o.messageBurst,
      this.tokens + ((now - this.refilledAt) / 1000) * o.messagesPerSecond,
    );
    this.refilledAt = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return true;
    }
    this.rateLimited += 1;
    if (this.rateLimited >= o.maxRateLimited) this.ws.close(CLOSE.policy, 'message rate limit');
    return false;
  }

  private async onMessage(text: string, isBinary: boolean): Promise<void> {
    if (!this.allow()) return this.error('rate_limited', 'too many messages; slow down');
    if (isBinary) return this.error('bad_request', 'frames must be JSON text');
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return this.error('bad_request', 'frame is not valid JSON');
    }
    const message = clientMessage.safeParse(parsed);
    if (!message.success) {
      const issue = message.error.issues[0];
      const jobId = (parsed as { jobId?: unknown } | null)?.jobId;
      return this.error(
        'bad_request',
        `${issue?.path.join('.') || 'op'}: ${issue?.message ?? 'invalid'}`,
        typeof jobId === 'string' && jobId.length <= 64 ? jobId : undefined,
      );
    }
    const hub = this.gateway.hub;
    if (message.data.op === 'unsubscribe') return hub.unsubscribe(this, message.data.jobId);
    const { jobId, after } = message.data;
    if (hub.count(this) + this.pendingSubscribes >= this.gateway.options.maxSubscriptions) {
      return this.error(
        'too_many_subscriptions',
        `at most ${this.gateway.options.maxSubscriptions} per connection`,
        jobId,
      );
    }
    this.pendingSubscribes += 1;
    let outcome;
    try {
      outcome = await hub.subscribe(this, jobId, Number(after ?? 0));
    } finally {
      this.pendingSubscribes -= 1;
    }
    if (outcome === 'not_found') this.error('not_found', 'no such job', jobId);
  }

  private onClose(): void {
    clearTimeout(this.expiry);
    this.gateway.hub.drop(this);
    this.gateway.forget(this);
  }
}

export class Gateway {
  readonly options: GatewayOptions;
  readonly hub: Hub;
  readonly wss: WebSocketServer;
  private readonly deps: GatewayDeps;
  private readonly reader: StreamReader;
  private readonly perUser = new Map<string, number>();
  private readonly connections = new Set<Connection>();
  private heartbeat: NodeJS.Timeout | undefined;
  private poller: NodeJS.Timeout | undefined;
  /** Counters for metrics and tests. */
  readonly stats = { slowConsumersClosed: 0 };

  constructor(deps: GatewayDeps) {
    this.deps = deps;
    this.options = resolveGatewayOptions(deps.options);
    this.hub = new Hub(deps.db, this.options.replayMaxEvents);
    this.wss = new WebSocketServer({ noServer: true, maxPayload: this.options.maxPayloadBytes });
    this.reader = new StreamReader({
      redis: deps.redis,
      onEvents: (events) => this.hub.route(events),
      onHealth: (healthy) => this.onStreamHealth(healthy),
      log: (message, error) =>
        deps.log?.(error ? 'warn' : 'info', message, error ? { error: (error as Error).message } : undefined),
    });
  }

  /** Whether live events come from the stream (true) or from polling Postgres (false). */
  get streamHealthy(): boolean {
    return this.reader.isHealthy;
  }

  /** Starts the stream reader and takes upgrades on `server`'s `/v1/stream`. */
  attach(server: Server): void {
    this.reader.start();
    this.startHeartbeat();
    server.on('upgrade', (req, socket, head) => void this.upgrade(req, socket, head));
  }

  private async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on('error', ignore);
    const url = new URL(req.url ?? '/', 'http://gateway');
    if (url.pathname !== STREAM_PATH) return reject(socket, 404, 'Not Found');
    if (this.deps.accepting && !this.deps.accepting()) {
      return reject(socket, 503, 'Service Unavailable', { 'Retry-After': '1' });
    }
    // Browsers cannot set headers on a WebSocket: the query parameter is the fallback. It never
    // reaches a log or span (telemetry redacts access_token; nothing here logs the URL).
    const token = bearerToken(req.headers.authorization) ?? url.searchParams.get('access_token') ?? undefined;
    let verified;
    try {
      verified = await this.deps.verify(token);
    } catch (error) {
      if (error instanceof TokenKeysUnavailableError) {
        return reject(socket, 503, 'Service Unavailable', { 'Retry-After': '5' });
      }
      return reject(socket, 401, 'Unauthorized', { 'WWW-Authenticate': 'Bearer' });
    }
    const owner = verified.subject;
    const open = this.perUser.get(owner) ?? 0;
    if (open >= this.options.maxConnectionsPerUser) {
      return reject(socket, 429, 'Too Many Requests', { 'Retry-After': '10' });
    }
    this.perUser.set(owner, open + 1);
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      this.connections.add(new Connection(this, ws, owner, verified.expiresAt));
      this.wss.emit('connection', ws, req);
    });
  }

  /**
   * One heartbeat for every connection, not a timer each (memory per idle connection): every
   * `pingIntervalMs` each peer is pinged, and `pongTimeoutMs` later those that have not answered are
   * terminated.
   */
  private startHeartbeat(): void {
    this.heartbeat = setInterval(() => {
      for (const connection of this.connections) connection.ping();
      setTimeout(() => {
        for (const connection of this.connections) if (connection.awaitingPong) connection.terminate();
      }, this.options.pongTimeoutMs).unref();
    }, this.options.pingIntervalMs);
    this.heartbeat.unref();
  }

  /** Called by a connection that closed. */
  forget(connection: Connection): void {
    this.connections.delete(connection);
    const left = (this.perUser.get(connection.owner) ?? 1) - 1;
    if (left <= 0) this.perUser.delete(connection.owner);
    else this.perUser.set(connection.owner, left);
  }

  private onStreamHealth(healthy: boolean): void {
    clearInterval(this.poller);
    this.poller = undefined;
    const catchUp = () =>
      this.hub
        .catchUp()
        .catch((error: unknown) =>
          this.deps.log?.('warn', 'catch-up from Postgres failed', { error: (error as Error).message }),
        );
    if (healthy) {
      void catchUp();
      return;
    }
    this.poller = setInterval(catchUp, this.options.fallbackPollMs);
  }

  /** Stops reading the stream (the lifecycle drains the sockets with 1012). */
  async close(): Promise<void> {
    clearInterval(this.poller);
    clearInterval(this.heartbeat);
    await this.reader.stop();
  }
}

export function createGateway(deps: GatewayDeps): Gateway {
  return new Gateway(deps);
}
