import { EventEmitter } from 'node:events';
import { trace } from '@opentelemetry/api';
import type { OutageTracker } from '@tether/outage';
import {
  type AttemptContext,
  type CallOptions,
  DeadlineExceededError,
  type RetryPolicy,
} from '@tether/retry';
import pg from 'pg';
import { dependencyResilience } from './dependency.ts';
import { CommitOutcomeUnknownError, PgBouncerUnsupportedError, PoolDrainingError } from './errors.ts';
import { continueWithPolicy, worthRetrying } from './first-attempt.ts';
import { describeForLog } from './logger.ts';
import { clientClass, type TetherClient } from './pg-client.ts';
import { isConnectionBroken } from './pg-fatal.ts';
import { type PgPoolOptions, type ResolvedPgOptions, resolvePgOptions } from './pg-options.ts';
import { isReadOnlyStatement } from './pg-statements.ts';
import { type EvictionReason, PoolMetrics } from './pool-metrics.ts';

/** Per-call options of `query()`, `withClient()` and `transaction()`. */
export interface PgCallOptions {
  /**
   * The work may run twice without harm, so it is retried even when a failure leaves its outcome
   * unknown. Default for `query()`: true for plain reads (SELECT, SHOW, WITH without writes…), else
   * false; for `withClient()` / `transaction()`: false.
   */
  idempotent?: boolean;
  /** Deadline of the whole call, retries included, ms. Default: the pool's `deadlineMs`. */
  deadlineMs?: number;
  /** The caller's cancellation (an HTTP request's, a shutdown's). */
  signal?: AbortSignal;
  /** Operation name on the retry span. */
  name?: string;
}

export interface PgTransactionOptions extends PgCallOptions {
  /** Default: the server's (read committed). */
  isolationLevel?: 'read committed' | 'repeatable read' | 'serializable';
  /** BEGIN ... READ ONLY. Default false. */
  readOnly?: boolean;
}

/** What `withClient()` / `transaction()` callbacks get: query on one connection; releasing is ours. */
export type PgQueryClient = Pick<
  pg.PoolClient,
  'query' | 'escapeIdentifier' | 'escapeLiteral' | 'getTransactionStatus'
>;

export interface PgEvictionEvent {
  reason: EvictionReason;
  /** How long the session had been established, ms. */
  ageMs: number;
  /** The server's backend pid of that connection (as in pg_stat_activity and the server log). */
  processId?: number;
}

export interface TetherPgPoolEvents {
  /** A connection left the pool for a reason other than drain. */
  evict: [PgEvictionEvent];
}

const ISOLATION = new Set(['read committed', 'repeatable read', 'serializable']);
/**
 * A node-postgres pool that survives Kubernetes networks: keepalive, timeouts on every wait,
 * validation of idle connections on checkout, eviction of broken ones, jittered lifetimes, retries
 * through @tether/retry, outage spans through @tether/outage and `db.client.connection.*` metrics.
 */
export class TetherPgPool extends EventEmitter<TetherPgPoolEvents> {
  /** The underlying pg.Pool. Work sent to it directly skips validation, retries and deadlines. */
  readonly pool: pg.Pool;
  readonly name: string;
  readonly options: Readonly<Omit<ResolvedPgOptions, 'pg' | 'redactor' | 'logger'>>;
  /** Outage episodes of this pool's server (one span per episode). */
  readonly outage: OutageTracker;
  private readonly opts: ResolvedPgOptions;
  private readonly policy: RetryPolicy;
  private readonly metrics: PoolMetrics;
  private readonly checkedOut = new Set<TetherClient>();
  /** A ping failed at this time: connections idle since before it are replaced without their own ping. */
  private condemnedBefore = 0;
  private inFlight = 0;
  private idleWaiters: (() => void)[] = [];
  private draining = false;
  private drained: Promise<void> | undefined;

  constructor(options: PgPoolOptions) {
    super();
    const opts = resolvePgOptions(options);
    this.opts = opts;
    this.name = opts.name;
    const { pg: _pg, redactor: _r, logger: _l, ...visible } = opts;
    this.options = visible;
    ({ outage: this.outage, policy: this.policy } = dependencyResilience('postgresql', opts));
    const Client = clientClass({
      lifetimeMs: () => this.drawLifetimeMs(),
      connected: (client, error, durationMs) => this.onConnected(client, error, durationMs),
      clientError: (client, error) => this.onCheckedOutError(client, error),
    });
    this.pool = new pg.Pool({
      ...opts.pg,
      Client: Client as unknown as pg.PoolConfig['Client'],
      // pg-pool arms each client's lifetime timer from `options.maxLifetimeSeconds` right after this
      // hook: setting it per client is how every connection gets its own jittered lifetime while
      // pg-pool keeps doing the rest (recycle idle ones at expiry, in-use ones on release).
      onConnect: (client) => {
        const lifetimeMs = (client as TetherClient).tether.lifetimeMs;
        if (lifetimeMs > 0) this.pool.options.maxLifetimeSeconds = lifetimeMs / 1000;
      },
    });
    this.pool.on('error', (error, client) => this.onIdleError(client as TetherClient, error));
    this.pool.on('remove', (client) => this.onRemoved(client as TetherClient));
    this.metrics = new PoolMetrics(opts.meter, 'postgresql', opts.name, () => ({
      idle: this.pool.idleCount,
      used: this.pool.totalCount - this.pool.idleCount,
      pending: this.pool.waitingCount,
      max: opts.max,
      min: opts.min,
    }));
  }

  /**
   * One statement on a pooled connection. Reads (and calls flagged `idempotent`) are retried on
   * transient failures; anything is retried when nothing reached the server; a serialization
   * failure or deadlock (the statement's implicit transaction rolled back) is retried too.
   */
  query<R extends pg.QueryResultRow = Record<string, unknown>>(
    text: string | pg.QueryConfig,
    params?: unknown[],
    options: PgCallOptions = {},
  ): Promise<pg.QueryResult<R>> {
    if (this.opts.pgbouncer && typeof text === 'object' && text.name !== undefined) {
      return Promise.reject(new PgBouncerUnsupportedError('a named prepared statement'));
    }
    const idempotent = options.idempotent ?? isReadOnlyStatement(typeof text === 'string' ? text : text.text);
    const deadlineMs = options.deadlineMs ?? this.opts.deadlineMs;
    if (typeof text !== 'string' || !this.canSkipPolicy(options, deadlineMs)) {
      return this.execute((client) => client.query<R>(text as string, params), options, idempotent, true);
    }
    if (this.draining) return Promise.reject(new PoolDrainingError(this.name));
    return this.fastQuery<R>(text, params, idempotent, deadlineMs, options.name);
  }

  /**
   * Several statements on one connection (session work outside a transaction). Retried only when
   * nothing reached the server, or on any transient failure when flagged `idempotent`. Returning
   * with a transaction still open closes the connection (the server rolls it back).
   */
  withClient<T>(fn: (client: PgQueryClient) => Promise<T>, options: PgCallOptions = {}): Promise<T> {
    return this.execute(fn, options, options.idempotent ?? false, false);
  }

  /**
   * `fn` inside BEGIN … COMMIT, rolled back if it throws. The whole transaction runs again on a
   * serialization failure or deadlock (40001, 40P01), when nothing reached the server, or on other
   * transient failures before COMMIT when flagged `idempotent` (no side effects outside the database).
   * A connection lost during COMMIT raises CommitOutcomeUnknownError and is never retried.
   */
  transaction<T>(fn: (client: PgQueryClient) => Promise<T>, options: PgTransactionOptions = {}): Promise<T> {
    const begin = this.beginStatement(options);
    return this.execute(
      async (client) => {
        await client.query(begin);
        let result: T;
        try {
          result = await fn(client);
        } catch (error) {
          await this.rollback(client as TetherClient, error);
          throw error;
        }
        try {
          await client.query('COMMIT');
        } catch (error) {
          if (!isConnectionBroken(error)) throw error;
          this.evict(client as TetherClient, 'fatal_error', error);
          throw new CommitOutcomeUnknownError(error);
        }
        return result;
      },
      options,
      options.idempotent ?? false,
      true,
    );
  }

  /** `SELECT 1` through the pool (for readiness checks). Default deadline: connectTimeoutMs. */
  async ping(options: { deadlineMs?: number; signal?: AbortSignal } = {}): Promise<void> {
    await this.query('SELECT 1', undefined, {
      idempotent: true,
      name: 'ping',
      deadlineMs: options.deadlineMs ?? this.opts.connectTimeoutMs,
      ...(options.signal ? { signal: options.signal } : {}),
    });
  }

  /**
   * Graceful close: new work fails at once with PoolDrainingError (TETHER_POOL_DRAINING), work in
   * flight (including calls waiting for a connection) may finish until `deadlineMs`, then the
   * connections still in use are closed and the pool ends. Idempotent: later calls share the first.
   */
  drain(deadlineMs = 10_000): Promise<void> {
    this.drained ??= this.runDrain(deadlineMs);
    return this.drained;
  }

  /** True once `drain()` was called. */
  get isDraining(): boolean {
    return this.draining;
  }

  /**
   * The hot path of query(): callbacks end to end (one promise per call, like pg.Pool#query), the
   * first attempt outside the retry policy. It bounds itself: the checkout by connectTimeoutMs (which
   * canSkipPolicy made sure fits in the deadline), the statement by a query timeout of at most what
   * remains. The policy takes over only after a failure worth retrying.
   */
  private fastQuery<R extends pg.QueryResultRow>(
    text: string,
    params: unknown[] | undefined,
    idempotent: boolean,
    deadlineMs: number,
    name: string | undefined,
  ): Promise<pg.QueryResult<R>> {
    const startedAt = performance.now();
    const deadlineAt = startedAt + deadlineMs;
    this.inFlight++;
    return new Promise<pg.QueryResult<R>>((resolve, reject) => {
      const succeed = (result: pg.QueryResult<R>) => {
        this.settled();
        resolve(result);
      };
      const fail = (error: unknown) => {
        const call: CallOptions = { idempotent, transaction: true, ...(name ? { name } : {}) };
        if (error instanceof DeadlineExceededError || this.draining || !worthRetrying(error, call)) {
          this.settled();
          reject(error);
          return;
        }
        const remainingMs = deadlineAt - performance.now();
        if (remainingMs < 1) {
          this.settled();
          reject(new DeadlineExceededError(name ?? this.name, deadlineMs, 1, error));
          return;
        }
        const retry = (client: TetherClient) =>
          this.timedQuery<R>(client, text, params, deadlineAt, deadlineMs, name);
        continueWithPolicy(this.policy, error, (ctx) => this.attempt(ctx, retry), {
          ...call,
          deadlineMs: remainingMs,
        }).then(succeed, (e: unknown) => {
          this.settled();
          reject(e);
        });
      };
      const run = (client: TetherClient) => {
        const timeoutMs = this.statementTimeoutFor(deadlineAt);
        if (timeoutMs === 0) {
          this.release(client);
          fail(
            new DeadlineExceededError(
              name ?? this.name,
              deadlineMs,
              1,
              new Error('the deadline passed while waiting for a connection'),
            ),
          );
          return;
        }
        const onResult = (error: Error | null, result: pg.QueryResult<R>) => {
          this.release(client, error ?? undefined);
          if (error) fail(error);
          else succeed(result);
        };
        if (timeoutMs === undefined) client.query<R>(text, params as unknown[], onResult);
        else client.query<R>({ text, values: params, query_timeout: timeoutMs } as pg.QueryConfig, onResult);
      };
      this.pool.connect((error, pooled) => {
        if (error || !pooled) {
          this.countCheckoutTimeout(error);
          fail(error);
          return;
        }
        const client = pooled as TetherClient;
        if (this.fresh(client)) run(this.handOut(client, startedAt));
        else this.vet(client, startedAt).then(run, fail);
      });
    });
  }

  /** query() attempts after the first (inside the policy): the same per-statement deadline. */
  private timedQuery<R extends pg.QueryResultRow>(
    client: TetherClient,
    text: string,
    params: unknown[] | undefined,
    deadlineAt: number,
    deadlineMs: number,
    name: string | undefined,
  ): Promise<pg.QueryResult<R>> {
    const timeoutMs = this.statementTimeoutFor(deadlineAt);
    if (timeoutMs === 0)
      return Promise.reject(
        new DeadlineExceededError(
          name ?? this.name,
          deadlineMs,
          1,
          new Error('the deadline passed while waiting for a connection'),
        ),
      );
    if (timeoutMs === undefined) return client.query<R>(text, params);
    return client.query<R>({ text, values: params, query_timeout: timeoutMs } as pg.QueryConfig);
  }

  /**
   * The client-side timeout a statement may have: `undefined` when the pool-wide queryTimeoutMs
   * fits in the deadline (no per-query config object: pg clones those), 0 when the deadline passed.
   */
  private statementTimeoutFor(deadlineAt: number): number | undefined {
    const remainingMs = deadlineAt - performance.now();
    if (remainingMs < 1) return 0;
    if (this.opts.queryTimeoutMs > 0 && this.opts.queryTimeoutMs <= remainingMs) return undefined;
    return Math.ceil(remainingMs);
  }

  private settled(): void {
    if (--this.inFlight === 0 && this.idleWaiters.length > 0)
      for (const wake of this.idleWaiters.splice(0)) wake();
  }

  private execute<T>(
    fn: (client: TetherClient) => Promise<T>,
    options: PgCallOptions,
    idempotent: boolean,
    transaction: boolean,
  ): Promise<T> {
    if (this.draining) return Promise.reject(new PoolDrainingError(this.name));
    return this.track(
      this.policy.execute((ctx) => this.attempt(ctx, fn), {
        idempotent,
        transaction,
        deadlineMs: options.deadlineMs ?? this.opts.deadlineMs,
        ...(options.signal ? { signal: options.signal } : {}),
        ...(options.name ? { name: options.name } : {}),
      }),
    );
  }

  private attempt<T>(ctx: AttemptContext, fn: (client: TetherClient) => Promise<T>): Promise<T> {
    // The retry span is active here from the second attempt on: link it to the outage it rode through.
    if (ctx.attempt > 1 && this.outage.inOutage) {
      const span = trace.getActiveSpan();
      if (span) this.outage.linkTo(span, { 'tether.retry.attempt': ctx.attempt });
    }
    return this.onClient(ctx.signal, fn);
  }

  /**
   * Whether a call may run its first attempt without the retry policy: nothing else needs to see
   * every call (budget, breaker, caller's signal) and the checkout's own bound fits in the deadline.
   */
  private canSkipPolicy(options: PgCallOptions, deadlineMs: number): boolean {
    const { retry, connectTimeoutMs, validationTimeoutMs } = this.opts;
    return (
      options.signal === undefined &&
      !retry.budget &&
      !retry.breaker &&
      deadlineMs >= connectTimeoutMs + 2 * validationTimeoutMs
    );
  }

  private async onClient<T>(
    signal: AbortSignal | undefined,
    fn: (client: TetherClient) => Promise<T>,
  ): Promise<T> {
    const client = await this.checkout();
    if (signal?.aborted) {
      this.release(client);
      throw signal.reason;
    }
    // Past the deadline the statement may still be running: close the connection rather than
    // hand a busy one to the next caller (query_timeout alone does not cancel anything).
    const onAbort = () => this.evict(client, 'aborted');
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const result = await fn(client);
      this.release(client);
      return result;
    } catch (error) {
      this.release(client, error);
      throw error;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Counts a whole operation (retries and backoff included) as in flight, for drain. */
  private track<T>(work: Promise<T>): Promise<T> {
    this.inFlight++;
    return work.finally(() => this.settled());
  }

  private checkout(): Promise<TetherClient> {
    const startedAt = performance.now();
    return this.connect().then((client) =>
      this.fresh(client) ? this.handOut(client, startedAt) : this.vet(client, startedAt),
    );
  }

  private connect(): Promise<TetherClient> {
    return this.pool.connect().then(
      (client) => client as TetherClient,
      (error: unknown) => {
        this.countCheckoutTimeout(error);
        throw error;
      },
    );
  }

  private countCheckoutTimeout(error: unknown): void {
    if ((error as Error)?.message === 'timeout exceeded when trying to connect')
      this.metrics.timeouts.add(1, this.metrics.attributes);
  }

  /** Whether a connection pg-pool just handed us may go out without a ping: new, or idle only briefly and not condemned. */
  private fresh(client: TetherClient): boolean {
    const releasedAt = client.tether.releasedAt;
    return (
      releasedAt === 0 ||
      (releasedAt > this.condemnedBefore && performance.now() - releasedAt <= this.opts.validateIdleAfterMs)
    );
  }

  private handOut(client: TetherClient, startedAt: number): TetherClient {
    const state = client.tether;
    state.checkedOut = true;
    state.checkedOutAt = performance.now();
    this.checkedOut.add(client);
    this.metrics.waitTime.record((state.checkedOutAt - startedAt) / 1000, this.metrics.attributes);
    return client;
  }

  /**
   * The slow part of a checkout: ping a connection that sat idle too long, replace a condemned or
   * dead one. Each pass removes one connection and fresh connections skip the ping, so this ends
   * after at most `max` + 1 passes.
   */
  private async vet(first: TetherClient, startedAt: number): Promise<TetherClient> {
    let client = first;
    for (;;) {
      if (this.fresh(client)) return this.handOut(client, startedAt);
      if (client.tether.releasedAt <= this.condemnedBefore) {
        this.evict(client, 'condemned');
      } else {
        const failure = await this.validate(client);
        if (failure === undefined) return this.handOut(client, startedAt);
        // Whatever killed this idle connection (a NAT that forgot it, a restarted server) most
        // likely killed its idle siblings too: replace them rather than ping each one and pay
        // validationTimeoutMs per dead socket.
        this.condemnedBefore = performance.now();
        this.opts.logger.warn(
          { pool: this.name, error: describeForLog(failure, this.opts.redactor) },
          'postgres: an idle connection failed validation; replacing it and the connections idle as long',
        );
        this.evict(client, 'validation_failed', failure);
      }
      client = await this.connect();
    }
  }

  private async validate(client: TetherClient): Promise<unknown> {
    try {
      await client.query({
        text: 'SELECT 1',
        query_timeout: this.opts.validationTimeoutMs,
      } as pg.QueryConfig);
      return undefined;
    } catch (error) {
      return error;
    }
  }

  private release(client: TetherClient, error?: unknown): void {
    const state = client.tether;
    if (!state.checkedOut) return;
    this.metrics.useTime.record((performance.now() - state.checkedOutAt) / 1000, this.metrics.attributes);
    if (state.evictReason !== undefined || (error !== undefined && isConnectionBroken(error))) {
      this.evict(client, 'fatal_error', error);
      return;
    }
    const tx = client.getTransactionStatus();
    if (tx === 'T' || tx === 'E') {
      this.opts.logger.warn(
        { pool: this.name },
        'postgres: a connection came back inside a transaction; closing it so the server rolls back',
      );
      this.evict(client, 'left_in_transaction');
      return;
    }
    state.checkedOut = false;
    this.checkedOut.delete(client);
    state.releasedAt = performance.now();
    client.release();
  }

  /** Take a connection out of service now: pg-pool forgets it and its socket is destroyed. */
  private evict(client: TetherClient, reason: EvictionReason, error?: unknown): void {
    const state = client.tether;
    state.evictReason ??= reason;
    state.checkedOut = false;
    this.checkedOut.delete(client);
    try {
      client.release(error instanceof Error ? error : true);
    } catch {
      // Already released (e.g. the abort path raced the normal release): pg-pool has it.
    }
    // A dead peer never acknowledges a polite Terminate: without this the socket lingers until
    // the kernel gives up, and the pool's `remove` never comes.
    (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
  }

  private async rollback(client: TetherClient, cause: unknown): Promise<void> {
    if (isConnectionBroken(cause)) return;
    try {
      await client.query('ROLLBACK');
    } catch (error) {
      this.evict(client, 'fatal_error', error);
    }
  }

  private beginStatement(options: PgTransactionOptions): string {
    let begin = 'BEGIN';
    if (options.isolationLevel !== undefined) {
      if (!ISOLATION.has(options.isolationLevel))
        throw new TypeError(`isolationLevel must be one of ${[...ISOLATION].join(', ')}`);
      begin += ` ISOLATION LEVEL ${options.isolationLevel.toUpperCase()}`;
    }
    if (options.readOnly) begin += ' READ ONLY';
    if (!this.opts.pgbouncer) return begin;
    // Behind PgBouncer the session is not ours: the timeouts hold for this transaction only. One
    // simple-protocol message, so no extra round trip.
    const settings: string[] = [];
    if (this.opts.statementTimeoutMs > 0)
      settings.push(`SET LOCAL statement_timeout = ${this.opts.statementTimeoutMs}`);
    if (this.opts.idleInTransactionTimeoutMs > 0) {
      settings.push(
        `SET LOCAL idle_in_transaction_session_timeout = ${this.opts.idleInTransactionTimeoutMs}`,
      );
    }
    return [begin, ...settings].join('; ');
  }

  private drawLifetimeMs(): number {
    const { maxLifetimeMs, maxLifetimeJitterMs } = this.opts;
    if (maxLifetimeMs === 0) return 0;
    return maxLifetimeMs - Math.random() * maxLifetimeJitterMs;
  }

  private onConnected(client: TetherClient, error: Error | undefined, durationMs: number): void {
    if (error === undefined) {
      client.tether.connectedAt = performance.now();
      this.metrics.createTime.record(durationMs / 1000, this.metrics.attributes);
      if (this.outage.inOutage) {
        this.outage.attempt({});
        this.outage.success();
        this.opts.logger.info({ pool: this.name }, 'postgres: connected again, outage over');
      }
      return;
    }
    if (durationMs >= this.opts.connectTimeoutMs) this.metrics.timeouts.add(1, this.metrics.attributes);
    if (!this.outage.inOutage && !this.draining) {
      this.opts.logger.warn(
        { pool: this.name, error: describeForLog(error, this.opts.redactor) },
        'postgres: cannot connect',
      );
    }
    this.outage.failure(error);
    this.outage.attempt({ error });
  }

  /** A checked-out connection failed (idle ones are reported by pg-pool's `error` event instead). */
  private onCheckedOutError(client: TetherClient, error: Error): void {
    const state = client.tether;
    if (!state.checkedOut) return;
    state.evictReason ??= 'fatal_error';
    this.opts.logger.warn(
      { pool: this.name, error: describeForLog(error, this.opts.redactor) },
      'postgres: a connection in use failed',
    );
  }

  /** pg-pool already removed the idle client; without this listener the process would crash. */
  private onIdleError(client: TetherClient, error: Error): void {
    client.tether.evictReason ??= 'idle_error';
    const code = (error as { code?: unknown }).code;
    // The server reaping idle sessions (57P05) is routine, not a warning.
    const level = code === '57P05' || this.draining ? 'info' : 'warn';
    this.opts.logger[level](
      { pool: this.name, error: describeForLog(error, this.opts.redactor) },
      'postgres: an idle connection failed and was removed',
    );
  }

  private onRemoved(client: TetherClient): void {
    this.checkedOut.delete(client);
    const state = client.tether;
    if (state.removed) return;
    state.removed = true;
    if (this.draining && state.evictReason === undefined) return;
    const ageMs = performance.now() - (state.connectedAt || state.createdAt);
    const reason =
      state.evictReason ??
      (state.lifetimeMs > 0 && ageMs >= state.lifetimeMs - 1 ? 'lifetime' : 'idle_timeout');
    this.metrics.evicted(reason);
    const processId = (client as unknown as { processID?: unknown }).processID;
    this.emit('evict', { reason, ageMs, ...(typeof processId === 'number' ? { processId } : {}) });
  }

  private async runDrain(deadlineMs: number): Promise<void> {
    this.draining = true;
    if (this.inFlight > 0) {
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.idleWaiters.push(resolve);
        timer = setTimeout(resolve, deadlineMs);
      });
      clearTimeout(timer);
    }
    if (this.checkedOut.size > 0) {
      this.opts.logger.warn(
        { pool: this.name, inUse: this.checkedOut.size },
        'postgres: drain deadline passed; closing connections still in use',
      );
      for (const client of [...this.checkedOut]) this.evict(client, 'aborted');
    }
    await this.pool.end();
    this.outage.close();
    this.metrics.close();
  }
}

/** Creates a TetherPgPool; every option is validated here (PoolConfigError names the field). */
export function createPgPool(options: PgPoolOptions): TetherPgPool {
  return new TetherPgPool(options);
}
