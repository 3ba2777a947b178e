/**
 * Many deadlines on one timer. A timer per call (and ioredis' `commandTimeout`, a timer per command)
 * costs a Timeout object, a list insertion and a clear on every GET, which is measurable at tens of
 * thousands of calls per second (tools/bench/src/pooling.bench.ts). Deadlines of one duration expire
 * in the order they were set, and on one connection replies arrive in the order commands were sent,
 * so a FIFO per duration holds them: settled entries are dropped from its head as new ones arrive,
 * and a single timer waits for the oldest live one.
 */
export class DeadlineFifo<T> {
  private readonly durationMs: number;
  private readonly isSettled: (item: T) => boolean;
  private readonly expire: (item: T) => void;
  private items: T[] = [];
  private times: number[] = [];
  private head = 0;
  private timer: NodeJS.Timeout | undefined;

  /**
   * `isSettled(item)`: no longer needs its deadline (checked lazily, so nothing runs on completion);
   * `expire(item)`: its deadline passed while it was not settled.
   */
  constructor(durationMs: number, isSettled: (item: T) => boolean, expire: (item: T) => void) {
    this.durationMs = durationMs;
    this.isSettled = isSettled;
    this.expire = expire;
  }

  add(item: T): void {
    this.dropSettled();
    const at = performance.now() + this.durationMs;
    this.items.push(item);
    this.times.push(at);
    if (this.timer === undefined) this.arm(at);
  }

  /** Every pending deadline is forgotten (the client is closing). */
  clear(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.items = [];
    this.times = [];
    this.head = 0;
  }

  private arm(at: number): void {
    this.timer = setTimeout(() => this.sweep(), Math.max(0, at - performance.now()));
    // A deadline must not keep the process alive on its own (the call itself does).
    this.timer.unref();
  }

  private sweep(): void {
    this.timer = undefined;
    const now = performance.now();
    while (this.head < this.items.length) {
      const item = this.items[this.head] as T;
      if (!this.isSettled(item)) {
        const at = this.times[this.head] as number;
        if (at > now) return this.arm(at);
        this.expire(item);
      }
      this.shift();
    }
    this.compact();
  }

  private dropSettled(): void {
    while (this.head < this.items.length && this.isSettled(this.items[this.head] as T)) this.shift();
    // The timer may now wait for an entry that settled: the sweep then re-arms for the oldest live
    // one, which is never earlier (FIFO), so no deadline fires late.
    this.compact();
  }

  private shift(): void {
    (this.items as (T | undefined)[])[this.head] = undefined;
    this.head++;
  }

  private compact(): void {
    if (this.head === this.items.length) {
      this.items.length = 0;
      this.times.length = 0;
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.times = this.times.slice(this.head);
      this.head = 0;
    }
  }
}
