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
import { type Server as WebSocketServerOf, WebSocket, WebSocketServer } from 'ws';
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

/** Listens for errors on a socket still being upgraded (a named function: see `Connection`). */
function ignore(): void {}

/** Token-bucket state of a connection that has sent something: idle connections never allocate it. */
interface MessageBudget {
  tokens: number;
  refilledAt: number;
  rateLimited: number;
}

/**
 * A client connection is the `ws` socket itself (the server's `WebSocket` class option), its state in
 * the socket's own fields, its events handled in `emit`: no second object, no lookup table and no
 * listener functions or listener lists per socket. Memory per idle connection is what the gateway
 * pays per client (the ws benchmark): a closure per event per socket cost a function and a context
 * each, and a closure created in `upgrade` kept the request (headers, URL) for the socket's lifetime.
 */
class Connection extends WebSocket implements Subscriber {
  owner = '';
  private gateway: Gateway | undefined;
  private budget: MessageBudget | undefined;
  /** Subscribes still reading history: they count against the limit before they are registered. */
  private pendingSubscribes = 0;
  /** A ping went out and no pong came back yet (the gateway's heartbeat sweep reads it). */
  awaitingPong = false;
  /** The token's `exp` as the gateway's expiry sweep counts it (see `Gateway.expirySecond`); 0: none. */
  expiresAtSecond = 0;

  /** Called by the gateway as soon as ws hands the socket over, before any frame can arrive. */
  accept(gateway: Gateway, owner: string, expiresAtSecond: number): void {
    this.gateway = gateway;
    this.owner = owner;
    this.expiresAtSecond = expiresAtSecond;
  }

  override emit(event: string | symbol, ...args: unknown[]): boolean {
    const gateway = this.gateway;
    if (gateway) {
      if (event === 'message') void this.handleMessage(gateway, String(args[0]), args[1] === true);
      else if (event === 'pong') this.awaitingPong = false;
      else if (event === 'close') gateway.forget(this);
    }
    // ws closes the socket after a protocol error by itself (1002, 1009…): nothing else to do with it.
    if (event === 'error' && this.listenerCount('error') === 0) return false;
    return super.emit(event, ...args);
  }

  /** Pings the peer; the gateway's sweep terminates it if no pong came back by the deadline. */
  heartbeat(): void {
    if (this.awaitingPong) {
      this.terminate(); // missed a pong: a dead peer or a path that forgot us
      return;
    }
    this.awaitingPong = true;
    this.ping();
  }

  /** Closes with 4401: the token this connection was opened with has expired. */
  expire(): void {
    this.close(CLOSE.tokenInvalid, 'token expired');
  }

  sendFrame(frame: string): void {
    if (this.readyState !== this.OPEN) return;
    this.send(frame);
    const gateway = this.gateway!;
    if (this.bufferedAmount > gateway.options.maxBufferedBytes) {
      // A slow consumer must not hold the gateway's memory; it resumes with `after` when it is back.
      if (this.readyState === this.OPEN) gateway.stats.slowConsumersClosed += 1;
      this.close(CLOSE.tryAgainLater, 'slow consumer');
      const hard = setTimeout(() => this.terminate(), 1_000);
      hard.unref();
    }
  }

  unavailable(reason: string): void {
    this.close(CLOSE.tryAgainLater, reason);
  }

  private sendError(code: ErrorCode, message: string, jobId?: string): void {
    this.sendFrame(errorFrame(code, message, jobId));
  }

  private allow(o: GatewayOptions): boolean {
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
    if (budget.rateLimited >= o.maxRateLimited) this.close(CLOSE.policy, 'message rate limit');
    return false;
  }

  private async handleMessage(gateway: Gateway, text: string, isBinary: boolean): Promise<void> {
    const o = gateway.options;
    if (!this.allow(o)) return this.sendError('rate_limited', 'too many messages; slow down');
    if (isBinary) return this.sendError('bad_request', 'frames must be JSON text');
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return this.sendError('bad_request', 'frame is not valid JSON');
    }
    const message = clientMessage.safeParse(parsed);
    if (!message.success) {
      const issue = message.error.issues[0];
      const jobId = (parsed as { jobId?: unknown } | null)?.jobId;
      return this.sendError(
        'bad_request',
        `${issue?.path.join('.') || 'op'}: ${issue?.message ?? 'invalid'}`,
        typeof jobId === 'string' && jobId.length <= 64 ? jobId : undefined,
      );
    }
    const hub = gateway.hub;
    if (message.data.op === 'unsubscribe') return hub.unsubscribe(this, message.data.jobId);
    const { jobId, after } = message.data;
    if (hub.count(this) + this.pendingSubscribes >= o.maxSubscriptions) {
      return this.sendError('too_many_subscriptions', `at most ${o.maxSubscriptions} per connection`, jobId);
    }
    this.pendingSubscribes += 1;
    let outcome;
    try {
      outcome = await hub.subscribe(this, jobId, Number(after ?? 0));
    } finally {
      this.pendingSubscribes -= 1;
    }
    if (outcome === 'not_found') this.sendError('not_found', 'no such job', jobId);
  }
}

export class Gateway {
  readonly options: GatewayOptions;
  readonly hub: Hub;
  readonly wss: WebSocketServerOf<typeof Connection>;
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
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: this.options.maxPayloadBytes,
      WebSocket: Connection,
    });
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
    // Counted once ws has upgraded (synchronously, right below): a handshake ws refuses (a bad
    // Sec-WebSocket-Key, a socket gone while the token was checked) never calls back, and counted
    // before it would hold the user's place for good.
    this.wss.handleUpgrade(req, socket, head, (connection) => {
      this.perUser.set(owner, (this.perUser.get(owner) ?? 0) + 1);
      socket.off('error', ignore); // ws has its own error listener on the socket now
      connection.accept(this, owner, this.expirySecond(verified.expiresAt));
      this.wss.emit('connection', connection, req);
    });
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
      for (const connection of this.wss.clients) connection.heartbeat();
      setTimeout(() => {
        for (const connection of this.wss.clients) if (connection.awaitingPong) connection.terminate();
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
      for (const connection of this.wss.clients) {
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
