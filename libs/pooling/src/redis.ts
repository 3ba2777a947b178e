import { trace } from '@opentelemetry/api';
import type { OutageTracker } from '@tether/outage';
import {
  type AttemptContext,
  AttemptRecord,
  type CallOptions,
  createBackoff,
  DeadlineExceededError,
  type RetryPolicy,
} from '@tether/retry';
import { Cluster, type Command, Redis } from 'ioredis';
import { RedisAttempts } from './redis-attempt.ts';
import { DeadlineFifo } from './redis-deadlines.ts';
import { RedisConnectionLostError } from './redis-errors.ts';

export {
  RedisCommandAbandonedError,
  RedisConnectionLostError,
  RedisOfflineQueueFullError,
} from './redis-errors.ts';
import { dependencyResilience } from './dependency.ts';
import { PoolDrainingError } from './errors.ts';
import { continueWithPolicy, worthRetrying } from './first-attempt.ts';
import { describeForLog } from './logger.ts';
import { PoolMetrics } from './pool-metrics.ts';
import { type RedisOptions, type ResolvedRedisOptions, resolveRedisOptions } from './redis-options.ts';

/** The deadline of one `execute()` call on the fast path. */
interface CallDeadline {
  live: boolean;
  expire: () => void;
}

/**
 * ioredis' `commandTimeout` arms a timer per command; this does the same on one timer per client
 * (same error, same effect: the command is rejected, the socket kept), for the standalone client.
 * Cluster nodes keep ioredis' own.
 */
function timeCommands(client: Redis, timeoutMs: number): void {
  const commands = new DeadlineFifo<Command>(
    timeoutMs,
    (c) => c.isSettled,
    (c) => c.reject(new Error('Command timed out')),
  );
  const send = client.sendCommand.bind(client);
  client.sendCommand = (command: Command, stream?: Parameters<Redis['sendCommand']>[1]) => {
    const result = send(command, stream);
    if (!command.isSettled) commands.add(command);
    return result;
  };
}

export interface RedisCallOptions {
  /** The commands may run twice without harm (GET, SET k v, HSET, DEL…; not INCR, LPUSH, XADD without an id). Default false. */
  idempotent?: boolean;
  /** Deadline of the whole call, retries included, ms. Default: the client's `deadlineMs`. */
  deadlineMs?: number;
  signal?: AbortSignal;
  /** Operation name on the retry span. */
  name?: string;
}

// Reply errors are answers, not connection trouble; everything else on `error` is the socket.
function isConnectionError(error: unknown): boolean {
  const name = (error as { name?: unknown })?.name;
  return name !== 'ReplyError';
}

/**
 * An ioredis client (standalone, Sentinel or Cluster) set up for Kubernetes networks, with
 * retries through @tether/retry (`execute`), one outage span per episode, `db.client.connection.*`
 * metrics and a graceful `drain()`. Use `client` directly for anything; `execute()` adds the
 * retries and deadline.
 */
export class TetherRedis {
  readonly client: Redis | Cluster;
  readonly name: string;
  readonly profile: ResolvedRedisOptions['profile'];
  /** Outage episodes of this Redis (one span per episode). */
  readonly outage: OutageTracker;
  private readonly opts: ResolvedRedisOptions;
  private readonly policy: RetryPolicy;
  private readonly metrics: PoolMetrics;
  private inFlight = 0;
  private idleWaiters: (() => void)[] = [];
  private draining = false;
  private drained: Promise<void> | undefined;
  private connectingSince = 0;
  private readonly endBackoff: ReturnType<typeof createBackoff>;
  private readonly attempts: RedisAttempts;
  private readonly callDeadlines: DeadlineFifo<CallDeadline>;

  constructor(options: RedisOptions) {
    const opts = resolveRedisOptions(options);
    this.opts = opts;
    this.name = opts.name;
    this.profile = opts.profile;
    ({ outage: this.outage, policy: this.policy } = dependencyResilience('redis', opts));
    const backoff = createBackoff({
      initialDelayMs: opts.reconnectInitialDelayMs,
      maxDelayMs: opts.reconnectMaxDelayMs,
      jitter: 'decorrelated',
    });
    // ioredis counts attempts from 1 after every successful connection: start the backoff over then.
    const retryStrategy = (times: number): number | null => {
      if (this.draining) return null;
      if (times === 1) backoff.reset();
      const delayMs = Math.round(backoff.next());
      this.outage.attempt({ attempt: times, delayMs });
      return delayMs;
    };
    this.connectingSince = performance.now();
    this.endBackoff = createBackoff({
      initialDelayMs: opts.reconnectInitialDelayMs,
      maxDelayMs: opts.reconnectMaxDelayMs,
      jitter: 'decorrelated',
    });
    if (opts.cluster) {
      // Per-node connection settings; the cluster owns addressing, queueing and reconnects.
      const { host: _h, port: _p, enableOfflineQueue: _q, sentinels: _s, ...nodeOptions } = opts.ioredis;
      this.client = new Cluster(opts.cluster.nodes, {
        ...opts.cluster.options,
        clusterRetryStrategy: retryStrategy,
        redisOptions: nodeOptions,
      });
    } else {
      const { commandTimeout, ...rest } = opts.ioredis;
      this.client = new Redis({ ...rest, retryStrategy });
      if (commandTimeout !== undefined) timeCommands(this.client, commandTimeout);
    }
    this.callDeadlines = new DeadlineFifo<CallDeadline>(
      opts.deadlineMs,
      (d) => !d.live,
      (d) => d.expire(),
    );
    this.attempts = new RedisAttempts(this.client, opts.name, opts.offlineQueueLimit);
    this.listen();
    this.metrics = new PoolMetrics(opts.meter, 'redis', opts.name, () => this.snapshot());
  }

  /**
   * Runs `fn` with the client under the retry policy, until the deadline. An attempt is re-run when
   * nothing of it reached the server (offline, connect refused, READONLY, MOVED…) and, when flagged
   * `idempotent`, on any transient failure (connection closed with a command in flight, timeouts).
   * "Nothing reached the server" is judged per attempt (@tether/retry's `mayRetryAttempt`): after
   * `INCR a` was sent, a refused `INCR b` does not make re-running `fn` safe. When the deadline
   * passes, the attempt's commands still queued are taken out and never sent (redis-attempt.ts).
   */
  execute<T>(fn: (client: Redis | Cluster) => Promise<T>, options: RedisCallOptions = {}): Promise<T> {
    if (this.draining) return Promise.reject(new PoolDrainingError(this.name));
    const deadlineMs = options.deadlineMs ?? this.opts.deadlineMs;
    if (options.signal || this.opts.retry.budget || this.opts.retry.breaker) {
      return this.track(
        this.policy.execute((ctx) => this.attempt(ctx, fn), this.callOptions(options, deadlineMs)),
      );
    }
    return this.fastExecute(fn, options, deadlineMs);
  }

  /** PING with retries (for readiness checks). Default deadline: the client's `deadlineMs`. */
  async ping(options: { deadlineMs?: number; signal?: AbortSignal } = {}): Promise<void> {
    await this.execute((c) => c.ping(), { idempotent: true, name: 'ping', ...options });
  }

  /**
   * Graceful close: new `execute()` calls fail at once with PoolDrainingError, calls in flight may
   * finish until `deadlineMs`, then QUIT (pending replies are still delivered) and, at the
   * deadline, a hard disconnect. Reconnects stop. Idempotent.
   */
  drain(deadlineMs = 5_000): Promise<void> {
    this.drained ??= this.runDrain(deadlineMs);
    return this.drained;
  }

  get isDraining(): boolean {
    return this.draining;
  }

  /**
   * The hot path: the first attempt with one plain timer for its deadline and a single promise for
   * the whole call; the retry policy takes over only after a failure worth retrying.
   */
  private fastExecute<T>(
    fn: (client: Redis | Cluster) => Promise<T>,
    options: RedisCallOptions,
    deadlineMs: number,
  ): Promise<T> {
    const startedAt = performance.now();
    this.inFlight++;
    const sent = new AttemptRecord();
    const view = this.attempts.view(sent);
    return new Promise<T>((resolve, reject) => {
      const finish = (error: unknown, value?: T) => {
        this.settled();
        if (error === undefined) resolve(value as T);
        else reject(error);
      };
      const fail = (error: unknown) => {
        const call = this.callOptions(options, deadlineMs);
        if (error instanceof DeadlineExceededError || this.draining || !worthRetrying(error, call, sent))
          return finish(error);
        const remainingMs = deadlineMs - (performance.now() - startedAt);
        if (remainingMs < 1)
          return finish(new DeadlineExceededError(options.name ?? this.name, deadlineMs, 1, error));
        continueWithPolicy(
          this.policy,
          error,
          (ctx) => this.attempt(ctx, fn),
          { ...call, deadlineMs: remainingMs },
          sent,
        ).then(
          (value) => finish(undefined, value),
          (e: unknown) => finish(e),
        );
      };
      const deadline: CallDeadline = {
        live: true,
        expire: () => {
          if (!deadline.live) return;
          deadline.live = false;
          this.attempts.abandon(view);
          finish(
            new DeadlineExceededError(
              options.name ?? this.name,
              deadlineMs,
              1,
              new DOMException('the operation deadline passed', 'TimeoutError'),
            ),
          );
        },
      };
      // The client's own deadline goes on its shared timer; a call's custom one gets a timer of its own.
      const timer =
        deadlineMs === this.opts.deadlineMs
          ? void this.callDeadlines.add(deadline)
          : setTimeout(deadline.expire, deadlineMs);
      const stop = (): boolean => {
        if (!deadline.live) return false;
        deadline.live = false;
        if (timer) clearTimeout(timer);
        return true;
      };
      let work: Promise<T>;
      try {
        work = fn(view);
      } catch (error) {
        work = Promise.reject(error);
      }
      work.then(
        (value) => {
          this.metrics.useTime.record((performance.now() - startedAt) / 1000, this.metrics.attributes);
          if (stop()) finish(undefined, value);
        },
        (error: unknown) => {
          this.countTimeout(error);
          if (stop()) void this.attempts.settleFailed(view).then(() => fail(error));
        },
      );
    });
  }

  /** Counts a whole operation (retries and backoff included) as in flight, for drain. */
  private track<T>(work: Promise<T>): Promise<T> {
    this.inFlight++;
    return work.finally(() => this.settled());
  }

  private callOptions(options: RedisCallOptions, deadlineMs: number): CallOptions {
    return {
      idempotent: options.idempotent ?? false,
      deadlineMs,
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.name ? { name: options.name } : {}),
    };
  }

  private countTimeout(error: unknown): void {
    const message = (error as Error)?.message ?? '';
    if (message === 'Command timed out' || message.startsWith('Socket timeout'))
      this.metrics.timeouts.add(1, this.metrics.attributes);
  }

  private settled(): void {
    if (--this.inFlight === 0 && this.idleWaiters.length > 0)
      for (const wake of this.idleWaiters.splice(0)) wake();
  }

  private attempt<T>(ctx: AttemptContext, fn: (client: Redis | Cluster) => Promise<T>): Promise<T> {
    // The retry span is active here from the second attempt on: link it to the outage it rode through.
    if (ctx.attempt > 1 && this.outage.inOutage) {
      const span = trace.getActiveSpan();
      if (span) this.outage.linkTo(span, { 'tether.retry.attempt': ctx.attempt });
    }
    const view = this.attempts.view(ctx.sent);
    const abandon = () => this.attempts.abandon(view);
    ctx.signal.addEventListener('abort', abandon, { once: true });
    return this.run(fn, view).finally(() => ctx.signal.removeEventListener('abort', abandon));
  }

  private async run<T>(fn: (client: Redis | Cluster) => Promise<T>, view: Redis | Cluster): Promise<T> {
    const startedAt = performance.now();
    try {
      return await fn(view);
    } catch (error) {
      this.countTimeout(error);
      await this.attempts.settleFailed(view);
      throw error;
    } finally {
      this.metrics.useTime.record((performance.now() - startedAt) / 1000, this.metrics.attributes);
    }
  }

  private listen(): void {
    const c = this.client;
    c.on('error', (error: Error) => {
      // ioredis has no listener of its own: without this one it prints every error to stderr.
      if (this.draining) return;
      const connection = isConnectionError(error);
      const log = { client: this.name, error: describeForLog(error, this.opts.redactor) };
      if (!this.outage.inOutage) this.opts.logger.warn(log, 'redis: connection error');
      else this.opts.logger.debug(log, 'redis: connection error during outage');
      if (connection) this.outage.failure(error);
    });
    c.on('connecting', () => {
      this.connectingSince = performance.now();
    });
    c.on('ready', () => {
      this.endBackoff.reset();
      this.metrics.createTime.record(
        (performance.now() - this.connectingSince) / 1000,
        this.metrics.attributes,
      );
      if (this.outage.inOutage) {
        this.outage.success();
        this.opts.logger.info({ client: this.name }, 'redis: connected again, outage over');
      }
    });
    c.on('end', () => {
      if (this.draining) return;
      // ioredis ends a client for good when its connector fails (e.g. every sentinel unreachable
      // at once). An app that did not ask for it must not be left with a dead client: start over.
      const delayMs = Math.round(this.endBackoff.next());
      this.opts.logger.warn(
        { client: this.name, delayMs },
        'redis: the client ended on its own; reconnecting',
      );
      this.outage.failure(new Error('redis client ended'));
      const timer = setTimeout(() => {
        if (!this.draining && this.client.status === 'end') this.client.connect().catch(() => {});
      }, delayMs);
      timer.unref();
    });
    c.on('close', () => {
      // Handshake commands (the ready check's INFO…) are settled too: by now the connect attempt is
      // no longer active in ioredis (status is not `connect`), so their callbacks do nothing; left
      // pending, the Sentinel failover test ends with a stray "Connection is closed." instead.
      this.rejectInFlight();
      if (this.draining) return;
      // The server closed an idle connection (`timeout`) or went away: either way ioredis reconnects.
      this.metrics.evicted('closed');
      this.opts.logger.debug({ client: this.name }, 'redis: connection closed, reconnecting');
    });
  }

  /**
   * The worker profile keeps in-flight commands across a reconnect (maxRetriesPerRequest null) but
   * never re-sends them (autoResendUnfulfilledCommands off): without this they would wait forever.
   * They may have run, so they fail with RedisConnectionLostError (idempotent-only retry). Runs on
   * `close`, before the reconnect: the queue still holds them. (The request profile's are already
   * rejected by ioredis with MaxRetriesPerRequestError.)
   */
  private rejectInFlight(): void {
    if (this.client instanceof Cluster) return;
    const queue = this.client.commandQueue;
    while (queue.length > 0) {
      const { command } = queue.shift() as unknown as { command: Command };
      if (!command.isSettled)
        command.reject(new RedisConnectionLostError(this.name, command.name.toUpperCase()));
    }
  }

  private snapshot() {
    if (this.client instanceof Cluster) {
      const nodes = this.client.nodes('all');
      const ready = nodes.filter((n) => n.status === 'ready');
      const used = ready.filter((n) => n.commandQueue.length > 0).length;
      return { idle: ready.length - used, used, pending: 0, max: nodes.length, min: 0 };
    }
    const ready = this.client.status === 'ready';
    const used = ready && this.client.commandQueue.length > 0 ? 1 : 0;
    return { idle: ready ? 1 - used : 0, used, pending: 0, max: 1, min: 0 };
  }

  private async runDrain(deadlineMs: number): Promise<void> {
    this.draining = true;
    const deadlineAt = performance.now() + deadlineMs;
    let timer: NodeJS.Timeout | undefined;
    const untilDeadline = (work: Promise<unknown>) =>
      Promise.race([
        work.then(
          () => true,
          () => true,
        ),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(false), Math.max(0, deadlineAt - performance.now()));
        }),
      ]).finally(() => clearTimeout(timer));
    if (this.inFlight > 0)
      await untilDeadline(new Promise<void>((resolve) => this.idleWaiters.push(resolve)));
    const graceful = this.client.status === 'ready' && (await untilDeadline(this.client.quit()));
    if (!graceful) {
      if (this.inFlight > 0)
        this.opts.logger.warn(
          { client: this.name, inFlight: this.inFlight },
          'redis: drain deadline passed; disconnecting',
        );
      this.client.disconnect();
    }
    this.outage.close();
    this.metrics.close();
  }
}

/** Creates a TetherRedis; every option is validated here (PoolConfigError names the field). */
export function createRedis(options: RedisOptions = {}): TetherRedis {
  return new TetherRedis(options);
}
