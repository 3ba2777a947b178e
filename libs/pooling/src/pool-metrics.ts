import {
  type Attributes,
  type BatchObservableCallback,
  type Counter,
  type Histogram,
  type Meter,
  metrics,
} from '@opentelemetry/api';

/** Why a connection left a pool. Attribute `tether.eviction.reason` on `tether.db.client.connection.evictions`. */
export type EvictionReason =
  /** The ping on checkout failed or timed out. */
  | 'validation_failed'
  /** Idle since before a failed ping on a sibling connection: replaced without its own ping. */
  | 'condemned'
  /** A fatal error (57P0x, 08xxx, socket error, client-side timeout) while checked out. */
  | 'fatal_error'
  /** The socket failed while idle in the pool (keepalive timeout, server reaping, RST). */
  | 'idle_error'
  /** Reached its (jittered) maximum lifetime. */
  | 'lifetime'
  /** Idle longer than idleTimeoutMs. */
  | 'idle_timeout'
  /** The operation using it passed its deadline or was cancelled while a statement may still run. */
  | 'aborted'
  /** Handed back with a transaction still open: closing it is the only way to be sure it rolls back. */
  | 'left_in_transaction'
  /** Postgres answered 25006 read_only_sql_transaction: after a failover this session will not become writable. */
  | 'read_only'
  /** Redis: the socket was closed and is being reconnected. */
  | 'closed';

export interface PoolSnapshot {
  idle: number;
  used: number;
  pending: number;
  max: number;
  min: number;
}

/**
 * The OpenTelemetry `db.client.connection.*` pool metrics (semantic conventions, "Development"
 * status) plus evictions by reason. Counts are observed from the pool on collection, so the hot
 * path pays only for the three histograms.
 */
export class PoolMetrics {
  readonly waitTime: Histogram;
  readonly createTime: Histogram;
  readonly useTime: Histogram;
  readonly timeouts: Counter;
  readonly evictions: Counter;
  readonly attributes: Attributes;
  private readonly meter: Meter;
  private readonly observe: BatchObservableCallback;
  private readonly observables: Parameters<Meter['addBatchObservableCallback']>[1];

  constructor(
    meter: Meter | undefined,
    system: 'postgresql' | 'redis',
    poolName: string,
    snapshot: () => PoolSnapshot,
  ) {
    this.meter = meter ?? metrics.getMeter('@tether/pooling');
    this.attributes = { 'db.system.name': system, 'db.client.connection.pool.name': poolName };
    const m = this.meter;
    const seconds = {
      unit: 's',
      advice: { explicitBucketBoundaries: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] },
    };
    this.waitTime = m.createHistogram('db.client.connection.wait_time', {
      description: 'Time to obtain an open connection from the pool',
      ...seconds,
    });
    this.createTime = m.createHistogram('db.client.connection.create_time', {
      description: 'Time it took to create a new connection',
      ...seconds,
    });
    this.useTime = m.createHistogram('db.client.connection.use_time', {
      description: 'Time between borrowing a connection and returning it',
      ...seconds,
    });
    this.timeouts = m.createCounter('db.client.connection.timeouts', {
      description: 'Connection attempts or checkouts that timed out',
      unit: '{timeout}',
    });
    this.evictions = m.createCounter('tether.db.client.connection.evictions', {
      description: 'Connections removed from the pool, by reason',
      unit: '{connection}',
    });
    const count = m.createObservableUpDownCounter('db.client.connection.count', {
      description: 'Connections by state',
      unit: '{connection}',
    });
    const max = m.createObservableUpDownCounter('db.client.connection.max', {
      description: 'Maximum open connections allowed',
      unit: '{connection}',
    });
    const idleMin = m.createObservableUpDownCounter('db.client.connection.idle.min', {
      description: 'Minimum idle connections kept',
      unit: '{connection}',
    });
    const pending = m.createObservableUpDownCounter('db.client.connection.pending_requests', {
      description: 'Requests waiting for an open connection',
      unit: '{request}',
    });
    const idleAttributes = { ...this.attributes, 'db.client.connection.state': 'idle' };
    const usedAttributes = { ...this.attributes, 'db.client.connection.state': 'used' };
    this.observables = [count, max, idleMin, pending];
    this.observe = (result) => {
      const s = snapshot();
      result.observe(count, s.idle, idleAttributes);
      result.observe(count, s.used, usedAttributes);
      result.observe(max, s.max, this.attributes);
      result.observe(idleMin, s.min, this.attributes);
      result.observe(pending, s.pending, this.attributes);
    };
    m.addBatchObservableCallback(this.observe, this.observables);
  }

  evicted(reason: EvictionReason): void {
    this.evictions.add(1, { ...this.attributes, 'tether.eviction.reason': reason });
  }

  /** Stop observing (the pool is closed): a drained pool must not keep reporting stale counts. */
  close(): void {
    this.meter.removeBatchObservableCallback(this.observe, this.observables);
  }
}
