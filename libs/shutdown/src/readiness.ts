import { describeError } from './logger.ts';

export type ReadinessCheckFn = (signal: AbortSignal) => Promise<void> | void;

export interface ReadinessCheckOptions {
  /** The check fails when it has not settled after this long; its signal aborts. Default: the lifecycle's readinessTimeoutMs (1000 ms). */
  timeoutMs?: number;
  /** A result is reused for this long before a probe starts the next run. Default: the lifecycle's readinessCacheMs (1000 ms). */
  cacheMs?: number;
  /**
   * Whether a failure fails /readyz. Default false: the check is reported in the body only. Shared
   * dependencies (the Postgres or Redis every replica uses) must stay non-critical: failing them would
   * turn every replica unready at once, empty the Service, and clients would get connection refused
   * or an ingress 502 instead of the app's own 503 + Retry-After. Set true only for something private
   * to this pod (a sidecar, a local cache warm-up, a disk), which another replica does not share.
   */
  critical?: boolean;
}

export interface CheckState {
  ok: boolean;
  /** Why the check failed (timeout, thrown error, or never run yet). */
  error?: string;
  /** ISO time of the result. */
  checkedAt?: string;
  durationMs?: number;
}

/**
 * One dependency's readiness check. Probes never wait for it: they read the last result and, when that
 * is older than `cacheMs`, start a run in the background. At most one run is outstanding, so a hanging
 * database gets one query, not one per probe; a run that outlives `timeoutMs` counts as failed at once
 * (its signal aborts), and the next run starts only after it settles. Checks must honour the signal
 * (or have their own driver timeout) or a hung run keeps the check failed until it returns.
 */
export class ReadinessCheck {
  readonly name: string;
  readonly critical: boolean;
  readonly #check: ReadinessCheckFn;
  readonly #timeoutMs: number;
  readonly #cacheMs: number;
  #state: CheckState = { ok: false, error: 'not checked yet' };
  #resultAt = Number.NEGATIVE_INFINITY;
  #running = false;

  constructor(name: string, check: ReadinessCheckFn, timeoutMs: number, cacheMs: number, critical: boolean) {
    this.name = name;
    this.critical = critical;
    this.#check = check;
    this.#timeoutMs = timeoutMs;
    this.#cacheMs = cacheMs;
  }

  /** The current result; starts a background run when the result is stale and none is outstanding. */
  read(): CheckState {
    if (!this.#running && performance.now() - this.#resultAt >= this.#cacheMs) this.run();
    return this.#state;
  }

  /** The current result without starting a run. */
  lastResult(): CheckState {
    return this.#state;
  }

  run(): void {
    this.#running = true;
    const startedAt = performance.now();
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort(new Error(`readiness check ${this.name} timed out`));
      this.#settle(startedAt, `timed out after ${this.#timeoutMs} ms`);
    }, this.#timeoutMs);
    timer.unref();
    // A synchronous throw becomes a rejection so the run is settled the same way.
    new Promise<void>((resolve) => resolve(this.#check(controller.signal)))
      .then(
        () => (timedOut ? undefined : this.#settle(startedAt)),
        (error: unknown) => (timedOut ? undefined : this.#settle(startedAt, describeError(error))),
      )
      .finally(() => {
        clearTimeout(timer);
        this.#running = false;
      });
  }

  #settle(startedAt: number, error?: string): void {
    const now = performance.now();
    this.#resultAt = now;
    this.#state = {
      ok: error === undefined,
      ...(error === undefined ? {} : { error }),
      checkedAt: new Date().toISOString(),
      durationMs: Math.round(now - startedAt),
    };
  }
}
