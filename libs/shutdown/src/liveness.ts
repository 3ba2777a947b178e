import { monitorEventLoopDelay, type ELDHistogram } from 'node:perf_hooks';

export interface EventLoopState {
  ok: boolean;
  /** Longest event-loop delay seen in the previous and the current window, in ms. */
  delayMs: number;
  thresholdMs: number;
}

/**
 * Liveness is event-loop responsiveness only: a dependency outage must never restart the pod, and a
 * restart is the only thing liveness can trigger. perf_hooks' histogram records the delay even when
 * the loop was fully blocked (the sample lands when it unblocks), so a probe answered right after a
 * long block still reports it. The value covers the previous window and the current partial one,
 * so a spike stays visible for at least one full window.
 */
export class EventLoopMonitor {
  readonly #histogram: ELDHistogram;
  readonly #thresholdMs: number;
  readonly #timer: NodeJS.Timeout;
  #previousMaxMs = 0;

  constructor(thresholdMs: number, windowMs: number) {
    this.#thresholdMs = thresholdMs;
    this.#histogram = monitorEventLoopDelay({ resolution: 10 });
    this.#histogram.enable();
    this.#timer = setInterval(() => {
      this.#previousMaxMs = this.#histogram.max / 1e6;
      this.#histogram.reset();
    }, windowMs);
    this.#timer.unref();
  }

  read(): EventLoopState {
    const current = this.#histogram.count > 0 ? this.#histogram.max / 1e6 : 0;
    const delayMs = Math.round(Math.max(this.#previousMaxMs, current));
    return { ok: delayMs <= this.#thresholdMs, delayMs, thresholdMs: this.#thresholdMs };
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#histogram.disable();
  }
}
