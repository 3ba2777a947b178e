import pg from 'pg';
import type { EvictionReason } from './pool-metrics.ts';

/** What the pool remembers about each connection. Times are `performance.now()` (monotonic). */
export interface ClientState {
  createdAt: number;
  /** When the session was established (lifetimes count from here); 0 until then. */
  connectedAt: number;
  /** This connection's own lifetime (jittered), ms; 0 = unlimited. */
  lifetimeMs: number;
  /** Last time it went back to the pool; 0 while it never has (a fresh connection needs no ping). */
  releasedAt: number;
  checkedOutAt: number;
  checkedOut: boolean;
  /** Set when we (or an error) decided it must go; read when pg-pool reports the removal. */
  evictReason: EvictionReason | undefined;
  /** pg-pool reported its removal (an error after eviction can make it report twice). */
  removed: boolean;
}

export type TetherClient = pg.PoolClient & { readonly tether: ClientState };

/** What the pool hears from its connections. */
export interface ClientHooks {
  created(client: TetherClient): void;
  lifetimeMs(): number;
  /** Opening started; `connected` follows exactly once. */
  connecting(client: TetherClient): void;
  connected(client: TetherClient, error: Error | undefined, durationMs: number): void;
  clientError(client: TetherClient, error: Error): void;
}

/**
 * pg.Client with an `error` listener from birth (a checked-out client whose socket dies must never
 * crash the process: pg-pool only listens while the client is idle) and a timed `connect()` for the
 * create-time metric and outage tracking. pg-pool builds it through its `Client` option.
 */
export function clientClass(hooks: ClientHooks): typeof pg.Client {
  return class TetherPgClient extends pg.Client {
    readonly tether: ClientState = {
      createdAt: performance.now(),
      connectedAt: 0,
      lifetimeMs: hooks.lifetimeMs(),
      releasedAt: 0,
      checkedOutAt: 0,
      checkedOut: false,
      evictReason: undefined,
      removed: false,
    };

    constructor(config?: string | pg.ClientConfig) {
      super(config);
      hooks.created(this as unknown as TetherClient);
      this.on('error', (error: Error) => hooks.clientError(this as unknown as TetherClient, error));
    }

    override connect(): Promise<pg.Client>;
    override connect(callback: (err: Error) => void): void;
    override connect(callback?: (err: Error) => void): Promise<pg.Client> | void {
      const startedAt = performance.now();
      hooks.connecting(this as unknown as TetherClient);
      const done = (error: Error | undefined) =>
        hooks.connected(this as unknown as TetherClient, error ?? undefined, performance.now() - startedAt);
      if (typeof callback === 'function') {
        super.connect((error: Error) => {
          done(error);
          callback(error);
        });
        return;
      }
      return super.connect().then(
        (client) => {
          done(undefined);
          return client;
        },
        (error: Error) => {
          done(error);
          throw error;
        },
      );
    }
  };
}
