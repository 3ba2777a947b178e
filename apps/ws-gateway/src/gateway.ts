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
import { type RawData, type WebSocket, WebSocketServer } from 'ws';
import { Hub, type Subscriber } from './hub.ts';
import { type GatewayOptions, resolveGatewayOptions } from './options.ts';
import { clientMessage, CLOSE, errorFrame, type ErrorCode } from './protocol.ts';
import { StreamReader } from './stream-reader.ts';

export const STREAM_PATH = '/v1/stream';
/** How often expired tokens are looked for: a connection is closed with 4401 at most this long after `exp`. */
export const EXPIRY_SWEEP_MS = 1_000;

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

/** The connection behind each socket: the listeners below are shared by every socket and find it here. */
const connectionOf = new WeakMap<WebSocket, Connection>();

/*
 * Listeners defined once, not per connection (memory per idle connection, measured by the ws
 * benchmark): a closure created in `upgrade` would share that function's context, which holds the
 * request (headers, URL) for as long as the socket lives, and a closure per event per socket costs a
 * function and a context each. ws calls them with the socket as `this`.
 */
function ignore(): void {}

function onMessage(this: WebSocket, data: RawData, isBinary: boolean): void {
  void connectionOf.get(this)?.onMessage(data.toString(), isBinary);
}

function onPong(this: WebSocket): void {
  const connection = connectionOf.get(this);
  if (connection) connection.awaitingPong = false;
}

function onClose(this: WebSocket): void {
  connectionOf.get(this)?.onClose();
}

/** Token-bucket state of a connection that has sent something: idle connections never allocate it. */
interface MessageBudget {
  tokens: number;
  refilledAt: number;
  rateLimited: number;
}

class Connection implements Subscriber {
  readonly owner: string;
  private readonly ws: WebSocket;
  private readonly gateway: Gateway;
  private budget: MessageBudget | undefined;
  /** Subscribes still reading history: they count against the limit before they are registered. */
  private pendingSubscribes = 0;
  /** A ping went out and no pong came back yet (the gateway's heartbeat sweep reads it). */
  awaitingPong = false;
  /** The token's `exp` as the gateway's expiry sweep counts it (see `Gateway.expirySecond`); 0: none. */
  readonly expiresAtSecond: number;

  constructor(gateway: Gateway, ws: WebSocket, owner: string, expiresAtSecond: number) {
    this.gateway = gateway;
    this.ws = ws;
    this.owner = owner;
    this.expiresAtSecond = expiresAtSecond;
    connectionOf.set(ws, this);
    ws.on('message', onMessage);
    ws.on('pong', onPong);
    ws.on('close', onClose);
    ws.on('error', ignore);
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

  /** Closes with 4401: the token this connection was opened with has expired. */
  expire(): void {
    this.ws.close(CLOSE.tokenInvalid, 'token expired');
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
    const budget = (this.budget ??= { tokens: o.messageBurst, refilledAt: now, rateLimited: 0 });
    budget.tokens = Math.min(
      o.messageBurst,
      budget.tokens + ((now - budget.refilledAt) / 1000) * o.messagesPerSecond,
    );
    budget.refilledAt = now;
    if (budget.tokens >= 1) {
      budget.tokens -= 1;
      return true;
    }
    budget.rateLimited += 1;
    if (budget.rateLimited >= o.maxRateLimited) this.ws.close(CLOSE.policy, 'message rate limit');
    return false;
  }

  async onMessage(text: string, isBinary: boolean): Promise<void> {
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

  onClose(): void {
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
  /**
   * Expiry seconds are counted from here (a second before start-up, so any token valid now counts
   * 1 or more): small integers, which V8 stores unboxed in a connection, where a time in ms is boxed.
   */
  private readonly epochSecond = Math.floor(Date.now() / 1000) - 1;
  private heartbeat: NodeJS.Timeout | undefined;
  private expirySweep: NodeJS.Timeout | undefined;
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
    this.startExpirySweep();
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
      socket.off('error', ignore); // ws has its own error listener on the socket now
      new Connection(this, ws, owner, this.expirySecond(verified.expiresAt));
      this.wss.emit('connection', ws, req);
    });
  }

  /** Every connection, found through its socket (`wss.clients`), so the gateway keeps no second set. */
  private *connections(): IterableIterator<Connection> {
    for (const ws of this.wss.clients) {
      const connection = connectionOf.get(ws);
      if (connection) yield connection;
    }
  }

  /**
   * `expiresAt` (ms) as a whole second counted from `epochSecond`: rounded up, since a JWT `exp` is
   * whole seconds and the token is valid until that instant; at least 1, so 0 means "no expiry";
   * capped where a small integer ends (~34 years: never, in practice).
   */
  private expirySecond(expiresAt: number | undefined): number {
    if (expiresAt === undefined) return 0;
    return Math.min(Math.max(1, Math.ceil(expiresAt / 1000) - this.epochSecond), 2 ** 30 - 1);
  }

  /**
   * One heartbeat for every connection, not a timer each (memory per idle connection): every
   * `pingIntervalMs` each peer is pinged, and `pongTimeoutMs` later those that have not answered are
   * terminated.
   */
  private startHeartbeat(): void {
    this.heartbeat = setInterval(() => {
      for (const connection of this.connections()) connection.ping();
      setTimeout(() => {
        for (const connection of this.connections()) if (connection.awaitingPong) connection.terminate();
      }, this.options.pongTimeoutMs).unref();
    }, this.options.pingIntervalMs);
    this.heartbeat.unref();
  }

  /**
   * Token expiry, one sweep for every connection instead of a timer each (a `Timeout` and its closure
   * were ~0.3 KiB per idle connection): every `EXPIRY_SWEEP_MS`, connections whose token has expired
   * are closed with 4401 — never before `exp`, at most one sweep (plus event-loop delay) after it.
   */
  private startExpirySweep(): void {
    this.expirySweep = setInterval(() => {
      const now = Math.floor(Date.now() / 1000) - this.epochSecond;
      for (const connection of this.connections()) {
        const expiresAt = connection.expiresAtSecond;
        if (expiresAt !== 0 && expiresAt <= now) connection.expire();
      }
    }, EXPIRY_SWEEP_MS);
    this.expirySweep.unref();
  }

  /** Called by a connection that closed. */
  forget(connection: Connection): void {
    this.hub.drop(connection);
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
    clearInterval(this.expirySweep);
    await this.reader.stop();
  }
}

export function createGateway(deps: GatewayDeps): Gateway {
  return new Gateway(deps);
}
