import { monitorEventLoopDelay, type ELDHistogram } from 'node:perf_hooks';

export interface EventLoopState {
  ok: boolean;
  /** Longest event-loop delay seen in the previous and the current window, in ms. */
  delayMs: number;
  thresholdMs: number;
}

const tickMs = 100;

/**
 * Liveness is event-loop responsiveness only: a dependency outage must never restart the pod, and a
 * restart is the only thing liveness can trigger. Two measurements, because each misses a case:
 * perf_hooks' delay histogram records a block only when its own timer next runs, but a probe can be
 * served in the same poll phase that follows the block, before any timer; so the monitor also
 * checks how late its own 100 ms tick is right now. The reported delay covers the previous window
 * and the current partial one, so a spike stays visible for at least one full window.
 */
export class EventLoopMonitor {
  readonly #histogram: ELDHistogram;
  readonly #thresholdMs: number;
  readonly #windowMs: number;
  readonly #timer: NodeJS.Timeout;
  #previousMaxMs = 0;
  #windowStartedAt = performance.now();
  #lastTickAt = performance.now();

  constructor(thresholdMs: number, windowMs: number) {
    this.#thresholdMs = thresholdMs;
    this.#windowMs = windowMs;
    this.#histogram = monitorEventLoopDelay({ resolution: 10 });
    this.#histogram.enable();
    this.#timer = setInterval(() => this.#tick(), Math.min(tickMs, windowMs));
    this.#timer.unref();
  }

  #tick(): void {
    const now = performance.now();
    const lateMs = now - this.#lastTickAt - Math.min(tickMs, this.#windowMs);
    this.#lastTickAt = now;
    if (now - this.#windowStartedAt < this.#windowMs) return;
    this.#previousMaxMs = Math.max(this.#histogram.count > 0 ? this.#histogram.max / 1e6 : 0, lateMs);
    this.#histogram.reset();
    this.#windowStartedAt = now;
  }

  read(): EventLoopState {
    const histogramMs = this.#histogram.count > 0 ? this.#histogram.max / 1e6 : 0;
    const pendingLateMs = performance.now() - this.#lastTickAt - Math.min(tickMs, this.#windowMs);
    const delayMs = Math.round(Math.max(this.#previousMaxMs, histogramMs, pendingLateMs, 0));
    return { ok: delayMs <= this.#thresholdMs, delayMs, thresholdMs: this.#thresholdMs };
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#histogram.disable();
  }
}
