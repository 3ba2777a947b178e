import { EventEmitter } from 'node:events';
import { trace } from '@opentelemetry/api';
import type { OutageTracker } from '@tether/outage';
import {
  type AttemptContext,
  type CallOptions,
  type Classification,
  classify,
  classifyPgBouncer,
  DeadlineExceededError,
  permanent,
  type RetryPolicy,
} from '@tether/retry';
import pg from 'pg';
import { dependencyResilience } from './dependency.ts';
import { CommitOutcomeUnknownError, PgBouncerUnsupportedError, PoolDrainingError } from './errors.ts';
import { continueWithPolicy, worthRetrying } from './first-attempt.ts';
import { describeForLog } from './logger.ts';
import { attemptClient, type PgQueryClient } from './pg-attempt-client.ts';
import { sendCancelRequest } from './pg-cancel.ts';
import { clientClass, type TetherClient } from './pg-client.ts';
import { ConnectGate } from './pg-connect-gate.ts';
import { isConnectionBroken } from './pg-fatal.ts';
import { type PgPoolOptions, type ResolvedPgOptions, resolvePgOptions } from './pg-options.ts';
import { isReadOnlyStatement } from './pg-statements.ts';
import { probeableHost, StalledConnectError, StalledConnects } from './pg-stalled-connects.ts';
import { type CommitWatch, runTransaction } from './pg-transaction.ts';
import { type EvictionReason, PoolMetrics } from './pool-metrics.ts';

export type { PgQueryClient } from './pg-attempt-client.ts';

/** Per-call options of `query()`, `withClient()` and `transaction()`. */
export interface PgCallOptions {
  /**
   * The work may run twice without harm, so it is retried even when a failure leaves its outcome
   * unknown, or after an earlier statement of the same attempt was sent. For `transaction()`: the
   * callback has no side effects outside the database (no HTTP call, no message sent), so a
   * transaction the server rolled back may be run again. Default for `query()`: true for plain reads
   * (see `isReadOnlyStatement`), else false; for `withClient()` / `transaction()`: false.
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
 * Fresh connections a call tries after 25006 read_only_sql_transaction before it gives up. After a
 * failover, DNS or the proxy moves new connections to the new primary within a few attempts; a
 * database that is read-only for good fails fast instead of spinning until the deadline.
 */
const READ_ONLY_RETRIES = 2;

/** What one call (all its attempts) has seen. */
interface CallState {
  deadlineAt: number;
  /** 25006 answers so far. */
  readOnlyRejections: number;
  /** A transaction this lib opened READ ONLY (at the caller's request): a 25006 there is the caller's bug. */
  readOnlyTransaction: boolean;
}

function sqlstateOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && typeof (error as { severity?: unknown }).severity === 'string'
    ? code
    : undefined;
}
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
  private readonly gate: ConnectGate;
  private readonly stalled: StalledConnects | undefined;
  private readonly checkedOut = new Set<TetherClient>();
  /** A ping failed at this time: connections idle since before it are replaced without their own ping. */
  private condemnedBefore = 0;
  /** Every connection pg-pool made and has not removed, also those a caller took from `.pool` directly. */
  private readonly clients = new Set<TetherClient>();
  /** Errors this pool decided not to retry whatever their classification says (with the reason). */
  private readonly final = new WeakMap<object, string>();
  /** The connection made to tell a dead idle connection from a slow server (one at a time). */
  private probe: Promise<'reachable' | 'unreachable'> | undefined;
  private readonly classifyError = (error: unknown): Classification => {
    const reason = typeof error === 'object' && error !== null ? this.final.get(error) : undefined;
    if (reason !== undefined) return permanent(reason, sqlstateOf(error));
    return (this.opts.pgbouncer ? classifyPgBouncer(error) : undefined) ?? classify(error);
  };
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
    ({ outage: this.outage, policy: this.policy } = dependencyResilience(
      'postgresql',
      opts,
      this.classifyError,
    ));
    this.gate = new ConnectGate(opts.maxConnecting);
    if (opts.stalledConnectMs > 0 && probeableHost(opts.host))
      this.stalled = new StalledConnects({
        host: opts.host,
        port: opts.port,
        afterMs: opts.stalledConnectMs,
        redialled: (count) =>
          this.opts.logger.info(
            { pool: this.name, count },
            'postgres: a new connection got through while connects waited for a SYN retransmission; re-dialling them',
          ),
      });
    const Client = clientClass({
      created: (client) => this.clients.add(client),
      lifetimeMs: () => this.drawLifetimeMs(),
      connecting: (client) => {
        this.gate.opened();
        this.stalled?.started(client);
      },
      connected: (client, error, durationMs) => {
        this.gate.closed();
        this.stalled?.ended(client);
        this.onConnected(client, error, durationMs);
      },
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
    this.gate.install(this.pool);
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
    if (typeof text !== 'string' || !this.canSkipPolicy(options)) {
      // One statement is its own (implicit) transaction: a 40001 rolled all of it back.
      return this.execute((client) => client.query<R>(text as string, params), options, {
        idempotent,
        transaction: true,
      });
    }
    if (this.draining) return Promise.reject(new PoolDrainingError(this.name));
    return this.fastQuery<R>(text, params, idempotent, deadlineMs, options.name);
  }

  /**
   * Several statements on one connection (session work outside a transaction). Re-run only when no
   * statement of the failed attempt was sent, or on any transient failure when flagged `idempotent`
   * (the rule: @tether/retry `mayRetryAttempt`). Returning with a transaction still open closes the
   * connection (the server rolls it back).
   */
  withClient<T>(fn: (client: PgQueryClient) => Promise<T>, options: PgCallOptions = {}): Promise<T> {
    return this.execute(
      (client, ctx) => fn(attemptClient(client, ctx.sent, { lastError: undefined })),
      options,
      { idempotent: options.idempotent ?? false, transaction: false },
    );
  }

  /**
   * `fn` inside BEGIN … COMMIT, rolled back if it throws; COMMIT is checked (a transaction a failed
   * statement aborted rejects with TransactionRolledBackError, cause = that statement's error). Run
   * again only when no statement of the attempt was sent, or — the server having rolled it all back
   * (40001, 40P01, a connection lost before COMMIT) — when flagged `idempotent` (no side effects
   * outside the database). A connection lost or the deadline reached during COMMIT raises
   * CommitOutcomeUnknownError, never retried.
   */
  transaction<T>(fn: (client: PgQueryClient) => Promise<T>, options: PgTransactionOptions = {}): Promise<T> {
    const begin = this.beginStatement(options);
    const commit: CommitWatch = { inFlight: false };
    const sideEffectFree = options.idempotent ?? false;
    const hooks = {
      rollback: (client: TetherClient, cause: unknown) => this.rollback(client, cause),
      evictBroken: (client: TetherClient, error: unknown) => this.evict(client, 'fatal_error', error),
    };
    return this.execute(
      (client, ctx) => runTransaction(client, ctx.sent, begin, fn, commit, hooks),
      options,
      { idempotent: sideEffectFree, transaction: sideEffectFree },
      options.readOnly === true,
    ).catch((error: unknown) => {
      // The deadline (or the caller) ended the call while COMMIT was on the wire: it may have landed.
      if (commit.inFlight) throw new CommitOutcomeUnknownError(error);
      throw error;
    });
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
   * first attempt outside the retry policy. It bounds itself: the checkout by connectTimeoutMs when
   * that fits in the deadline, else by a timer at the deadline; vetting an idle connection by the
   * deadline; the statement by a query timeout of at most what remains. The policy takes over only
   * after a failure worth retrying.
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
    const state: CallState = { deadlineAt, readOnlyRejections: 0, readOnlyTransaction: false };
    this.inFlight++;
    return new Promise<pg.QueryResult<R>>((resolve, reject) => {
      const succeed = (result: pg.QueryResult<R>) => {
        this.settled();
        resolve(result);
      };
      const fail = (error: unknown) => {
        const call: CallOptions = { idempotent, transaction: true, ...(name ? { name } : {}) };
        if (
          error instanceof DeadlineExceededError ||
          this.draining ||
          !worthRetrying(error, call, undefined, this.classifyError)
        ) {
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
        continueWithPolicy(this.policy, error, (ctx) => this.attempt(ctx, state, retry), {
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
          if (error) this.noteFailure(state, error);
          this.release(client, error ?? undefined);
          if (error) fail(error);
          else succeed(result);
        };
        if (timeoutMs === undefined) client.query<R>(text, params as unknown[], onResult);
        else client.query<R>({ text, values: params, query_timeout: timeoutMs } as pg.QueryConfig, onResult);
      };
      const checkedOut = (error: unknown, pooled: pg.PoolClient | undefined) => {
        if (error || !pooled) {
          fail(error);
          return;
        }
        const client = pooled as TetherClient;
        if (this.fresh(client)) run(this.handOut(client, startedAt));
        else
          this.vet(client, startedAt, state).then(run, (e: unknown) =>
            fail(
              e instanceof DeadlineExceededError || performance.now() < deadlineAt
                ? e
                : new DeadlineExceededError(name ?? this.name, deadlineMs, 1, e),
            ),
          );
      };
      // pg-pool bounds a wait in its queue by connectTimeoutMs; a deadline shorter than that gets
      // its own bound (connect), unless an idle connection is there for the taking (no wait at all).
      if (deadlineMs >= this.opts.connectTimeoutMs || this.idleReady()) {
        this.poolConnect(deadlineAt, (error, pooled) => {
          if (error) this.countCheckoutTimeout(error);
          checkedOut(error, pooled);
        });
      } else this.connect(state).then((client) => checkedOut(undefined, client), fail);
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
    fn: (client: TetherClient, ctx: AttemptContext) => Promise<T>,
    options: PgCallOptions,
    flags: { idempotent: boolean; transaction: boolean },
    readOnlyTransaction = false,
  ): Promise<T> {
    if (this.draining) return Promise.reject(new PoolDrainingError(this.name));
    const deadlineMs = options.deadlineMs ?? this.opts.deadlineMs;
    const state: CallState = {
      deadlineAt: performance.now() + deadlineMs,
      readOnlyRejections: 0,
      readOnlyTransaction,
    };
    return this.track(
      this.policy.execute((ctx) => this.attempt(ctx, state, fn), {
        ...flags,
        deadlineMs,
        ...(options.signal ? { signal: options.signal } : {}),
        ...(options.name ? { name: options.name } : {}),
      }),
    );
  }

  private attempt<T>(
    ctx: AttemptContext,
    state: CallState,
    fn: (client: TetherClient, ctx: AttemptContext) => Promise<T>,
  ): Promise<T> {
    // The retry span is active here from the second attempt on: link it to the outage it rode through.
    if (ctx.attempt > 1 && this.outage.inOutage) {
      const span = trace.getActiveSpan();
      if (span) this.outage.linkTo(span, { 'tether.retry.attempt': ctx.attempt });
    }
    return this.onClient(ctx, state, fn);
  }

  /**
   * 25006 read_only_sql_transaction: the session is read-only (after a failover it stays so) and is
   * evicted on release; the call may try a few fresh connections, then the error is final. In a
   * transaction the caller asked to be READ ONLY it is final at once: the write is the caller's bug.
   */
  private noteFailure(state: CallState, error: unknown): void {
    if (sqlstateOf(error) !== '25006') return;
    if (state.readOnlyTransaction) {
      this.final.set(error as object, '25006 in a transaction opened READ ONLY by the caller');
    } else if (++state.readOnlyRejections > READ_ONLY_RETRIES) {
      this.final.set(
        error as object,
        `25006 read_only_sql_transaction on ${state.readOnlyRejections} connections`,
      );
    }
  }

  /**
   * Whether a call may run its first attempt without the retry policy: nothing else needs to see
   * every call (budget, breaker, caller's signal). fastQuery bounds every wait by the deadline itself.
   */
  private canSkipPolicy(options: PgCallOptions): boolean {
    const { retry } = this.opts;
    return options.signal === undefined && !retry.budget && !retry.breaker;
  }

  /** An idle connection is there and nobody queues before us: pg-pool hands it over on the next tick. */
  private idleReady(): boolean {
    return this.pool.idleCount > 0 && this.pool.waitingCount === 0;
  }

  private async onClient<T>(
    ctx: AttemptContext,
    state: CallState,
    fn: (client: TetherClient, ctx: AttemptContext) => Promise<T>,
  ): Promise<T> {
    const { signal } = ctx;
    const client = await this.checkout(state, signal);
    if (signal.aborted) {
      this.release(client);
      throw signal.reason;
    }
    // Past the deadline the statement may still be running: cancel it on the server and close the
    // connection rather than hand a busy one to the next caller.
    const onAbort = () => this.evict(client, 'aborted', undefined, true);
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      const result = await fn(client, ctx);
      this.release(client);
      return result;
    } catch (error) {
      this.noteFailure(state, error);
      this.release(client, error);
      throw error;
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  /** Counts a whole operation (retries and backoff included) as in flight, for drain. */
  private track<T>(work: Promise<T>): Promise<T> {
    this.inFlight++;
    return work.finally(() => this.settled());
  }

  private checkout(state: CallState, signal?: AbortSignal): Promise<TetherClient> {
    const startedAt = performance.now();
    return this.connect(state).then((client) =>
      this.fresh(client) ? this.handOut(client, startedAt) : this.vet(client, startedAt, state, signal),
    );
  }

  /**
   * A connection from pg-pool, waiting at most until the call's deadline (pg-pool's own bound is
   * connectTimeoutMs). One that arrives after we gave up goes straight back.
   */
  private connect(state: CallState): Promise<TetherClient> {
    const waitMs = state.deadlineAt - performance.now();
    if (waitMs >= this.opts.connectTimeoutMs) {
      return new Promise((resolve, reject) =>
        this.poolConnect(state.deadlineAt, (error, client) => {
          if (error || !client) {
            this.countCheckoutTimeout(error);
            reject(error);
          } else resolve(client as TetherClient);
        }),
      );
    }
    return new Promise((resolve, reject) => {
      let late = false;
      const timer = setTimeout(
        () => {
          late = true;
          reject(new Error('timeout exceeded when trying to connect'));
        },
        Math.max(waitMs, 0),
      );
      this.poolConnect(state.deadlineAt, (error, client) => {
        if (late) {
          client?.release();
          return;
        }
        clearTimeout(timer);
        if (error || !client) {
          this.countCheckoutTimeout(error);
          reject(error);
        } else resolve(client as TetherClient);
      });
    });
  }

  /**
   * pg-pool's checkout. When the connect pg-pool opened for it was abandoned as stalled
   * (StalledConnectError: its SYN was lost, nothing was sent, the server has since answered a probe),
   * it asks again at once while the deadline allows: a lost SYN costs the call no retry attempt, no
   * backoff and no circuit-breaker failure.
   */
  private poolConnect(
    deadlineAt: number,
    callback: (error: Error | undefined, client: pg.PoolClient | undefined) => void,
  ): void {
    this.pool.connect((error, client) => {
      if (error instanceof StalledConnectError && !this.draining && performance.now() < deadlineAt)
        this.poolConnect(deadlineAt, callback);
      else callback(error ?? undefined, client);
    });
  }

  private countCheckoutTimeout(error: unknown): void {
    if ((error as Error)?.message === 'timeout exceeded when trying to connect')
      this.metrics.timeouts.add(1, this.metrics.attributes);
  }

  /**
   * Whether a connection pg-pool just handed us may go out without a ping: idle only briefly and not
   * condemned. A new one counts as idle since it connected: one made for a caller that had given up
   * waits in pg-pool unused, and a server reaping idle sessions closes it like any other.
   */
  private fresh(client: TetherClient): boolean {
    const { releasedAt, connectedAt } = client.tether;
    const idleSince = Math.max(releasedAt, connectedAt);
    return idleSince > this.condemnedBefore && performance.now() - idleSince <= this.opts.validateIdleAfterMs;
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
   * dead one, all before the call's deadline. Each pass removes one connection and fresh
   * connections skip the ping, so this ends after at most `max` + 1 passes.
   */
  private async vet(
    first: TetherClient,
    startedAt: number,
    state: CallState,
    signal?: AbortSignal,
  ): Promise<TetherClient> {
    let client = first;
    for (;;) {
      if (this.fresh(client)) return this.handOut(client, startedAt);
      if (client.tether.releasedAt <= this.condemnedBefore) {
        this.evict(client, 'condemned');
      } else {
        const pingStartedAt = performance.now();
        const failure = await this.validate(client, state.deadlineAt);
        if (failure === undefined) return this.handOut(client, startedAt);
        if (failure.condemn) {
          // Whatever killed this idle connection (a NAT that forgot it, a restarted server) most
          // likely killed its idle siblings too: replace them rather than ping each one and pay
          // validationTimeoutMs per dead socket.
          this.condemnedBefore = Math.max(this.condemnedBefore, pingStartedAt);
          this.opts.logger.warn(
            { pool: this.name, error: describeForLog(failure.error, this.opts.redactor) },
            'postgres: an idle connection failed validation; replacing it and the connections idle as long',
          );
        }
        this.evict(client, 'validation_failed', failure.error);
      }
      if (signal?.aborted || performance.now() >= state.deadlineAt)
        throw new Error('timeout exceeded when trying to connect');
      client = await this.connect(state);
    }
  }

  /**
   * Pings an idle connection. `undefined`: healthy. A ping that fails condemns the connections idle
   * as long. A ping that is merely slow proves nothing: a paused or overloaded server is slow on every
   * connection, and condemning them all would answer a struggling server with a reconnect storm. So
   * a slow ping is decided by a probe — one new connection: if it answers while the ping does not, the
   * idle connection is dead (a NAT forgot it) and so are its siblings; if the ping answers first, the
   * server was slow and nothing is replaced.
   */
  private async validate(
    client: TetherClient,
    deadlineAt: number,
  ): Promise<{ error: unknown; condemn: boolean } | undefined> {
    const ping = client.query('SELECT 1').then(
      () => 'alive' as const,
      (error: unknown) => ({ error }),
    );
    const first = await within(
      ping,
      Math.max(Math.min(this.opts.validationTimeoutMs, deadlineAt - performance.now()), 0),
    );
    if (first === 'alive') return undefined;
    if (first !== TIMED_OUT) return { error: first.error, condemn: true };
    const waitMs = Math.min(this.opts.connectTimeoutMs, deadlineAt - performance.now());
    const verdict = await within(
      Promise.race([ping, this.probeServer().then((probe) => ({ probe }))]),
      Math.max(waitMs, 0),
    );
    if (verdict === 'alive') {
      this.opts.logger.info(
        { pool: this.name, validationTimeoutMs: this.opts.validationTimeoutMs },
        'postgres: a validation ping was slow but answered; the server is slow, not gone: nothing replaced',
      );
      return undefined;
    }
    if (verdict === TIMED_OUT)
      return {
        error: new Error('validation ping timed out; no new connection answered either'),
        condemn: false,
      };
    if ('error' in verdict) return { error: verdict.error, condemn: true };
    return {
      error: new Error(
        verdict.probe === 'reachable'
          ? 'validation ping timed out while a new connection answered'
          : 'validation ping timed out and the server refuses new connections',
      ),
      condemn: true,
    };
  }

  /** One new connection (outside the pool) to the same server: does it answer at all? */
  private probeServer(): Promise<'reachable' | 'unreachable'> {
    this.probe ??= (async () => {
      const probe = new pg.Client(this.opts.pg);
      probe.on('error', () => {});
      try {
        await probe.connect();
        await probe.query('SELECT 1');
        return 'reachable' as const;
      } catch {
        return 'unreachable' as const;
      } finally {
        probe.end().catch(() => {});
      }
    })().finally(() => {
      this.probe = undefined;
    });
    return this.probe;
  }

  private release(client: TetherClient, error?: unknown): void {
    const state = client.tether;
    if (!state.checkedOut) return;
    this.metrics.useTime.record((performance.now() - state.checkedOutAt) / 1000, this.metrics.attributes);
    if (state.evictReason !== undefined || (error !== undefined && isConnectionBroken(error))) {
      // A client-side timeout left the statement running: cancel it before closing the connection.
      this.evict(
        client,
        'fatal_error',
        error,
        (error as Error | undefined)?.message === 'Query read timeout',
      );
      return;
    }
    if (
      sqlstateOf(error) === '25006' &&
      !this.final.get(error as object)?.includes('READ ONLY by the caller')
    ) {
      this.evict(client, 'read_only', error);
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

  /**
   * Take a connection out of service now: pg-pool forgets it and its socket is destroyed. With
   * `cancel`, a statement still running on it is first cancelled on the server (CancelRequest, at
   * most validationTimeoutMs), so it stops holding locks and a backend.
   */
  private evict(client: TetherClient, reason: EvictionReason, error?: unknown, cancel = false): void {
    const state = client.tether;
    state.evictReason ??= reason;
    state.checkedOut = false;
    this.checkedOut.delete(client);
    if (cancel && isBusy(client)) {
      void sendCancelRequest(client, this.opts.pg.ssl, this.opts.validationTimeoutMs).then(() =>
        this.close(client, error),
      );
      return;
    }
    this.close(client, error);
  }

  private close(client: TetherClient, error: unknown): void {
    try {
      client.release(error instanceof Error ? error : true);
    } catch {
      // Already released (e.g. the abort path raced the normal release): pg-pool has it.
    }
    // A dead peer never acknowledges a polite Terminate: without this the socket lingers until
    // the kernel gives up, and the pool's `remove` never comes.
    destroySocket(client);
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
    // Abandoned by us because a newer connect got through: the server is reachable, not down.
    if (error instanceof StalledConnectError) return;
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
    this.clients.delete(client);
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
    this.stalled?.close();
    const deadlineAt = performance.now() + deadlineMs;
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
      for (const client of [...this.checkedOut]) this.evict(client, 'aborted', undefined, true);
    }
    const ended = this.pool.end();
    if ((await within(ended, Math.max(deadlineAt - performance.now(), 0))) === TIMED_OUT) {
      // pg-pool's end() waits for every client it handed out, also one a caller took from `.pool`
      // and never released: close those too, or drain() (and the pod's shutdown) never ends.
      const leaked = [...this.clients].filter((c) => !c.tether.removed);
      this.opts.logger.warn(
        { pool: this.name, leaked: leaked.length },
        'postgres: drain deadline passed with connections taken from .pool and never released; closing them',
      );
      for (const client of leaked) {
        client.tether.evictReason ??= 'aborted';
        try {
          client.release(true);
        } catch {
          // pg-pool no longer knows it.
        }
        destroySocket(client);
      }
      await within(ended, this.opts.validationTimeoutMs);
    }
    this.outage.close();
    this.metrics.close();
  }
}

const TIMED_OUT = Symbol('timed out');

/** `promise`'s value, or TIMED_OUT after `ms` (the promise keeps running). */
function within<T>(promise: Promise<T>, ms: number): Promise<T | typeof TIMED_OUT> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<typeof TIMED_OUT>((resolve) => {
      timer = setTimeout(resolve, ms, TIMED_OUT);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Whether a statement may be running on the connection (pg's own bookkeeping; assume so if unsure). */
function isBusy(client: TetherClient): boolean {
  const internal = client as unknown as { _activeQuery?: unknown; _queryQueue?: unknown[] };
  if (!('_activeQuery' in internal)) return true;
  return internal._activeQuery != null || (internal._queryQueue?.length ?? 0) > 0;
}

function destroySocket(client: TetherClient): void {
  (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
}

/** Creates a TetherPgPool; every option is validated here (PoolConfigError names the field). */
export function createPgPool(options: PgPoolOptions): TetherPgPool {
  return new TetherPgPool(options);
}
