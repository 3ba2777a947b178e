import { functionOption, numberOption } from '@tether/errors';

export interface RetryBudgetOptions {
  /** Retries allowed per request: each call deposits this many retry tokens. Default 0.1 (retries add at most 10 % load). */
  ratio?: number;
  /**
   * Retries per second allowed regardless of traffic, so a quiet service can still ride out a blip.
   * A reserve of this size refills continuously and starts full. Default 10 (retries/s).
   */
  minRetriesPerSecond?: number;
  /** Cap on deposited tokens, so a long healthy period cannot bank a retry storm. Default 100 (retries). */
  maxTokens?: number;
  /** Clock in milliseconds for the floor's refill. Default `performance.now`; inject one to simulate time. */
  now?: () => number;
}

// Deposits are counted in thousandths of a token so that 1000 x 0.1 is exactly 100, not 99.99999999999859.
const SCALE = 1000;

/**
 * A retry token bucket for one dependency, in the spirit of Finagle's RetryBudget, gRPC retry
 * throttling and the AWS SDK retry quota: over any stretch, retries <= ratio x requests + the floor.
 * When the dependency is down hard, clients stop multiplying its load after the budget is spent,
 * which is what lets it come back up.
 *
 * Share one instance between every policy that talks to the same dependency.
 */
export class RetryBudget {
  readonly ratio: number;
  readonly minRetriesPerSecond: number;
  readonly maxTokens: number;
  #now: () => number;
  #depositUnit: number;
  #deposited = 0;
  #floor: number;
  #floorUpdatedAt: number;

  constructor(options: RetryBudgetOptions = {}) {
    this.ratio = numberOption('ratio', options.ratio, 0.1, { min: 0 });
    this.minRetriesPerSecond = numberOption('minRetriesPerSecond', options.minRetriesPerSecond, 10, {
      min: 0,
    });
    this.maxTokens = numberOption('maxTokens', options.maxTokens, 100, { min: 0 });
    this.#now = functionOption('now', options.now, () => performance.now());
    this.#depositUnit = Math.round(this.ratio * SCALE);
    this.#floor = this.minRetriesPerSecond;
    this.#floorUpdatedAt = this.#now();
  }

  /** Records one call (its first attempt), earning `ratio` retry tokens. */
  recordRequest(): void {
    this.#deposited = Math.min(this.maxTokens * SCALE, this.#deposited + this.#depositUnit);
  }

  /** Takes one retry token; false when the budget is spent and the retry must not happen. */
  tryWithdraw(): boolean {
    if (this.#deposited >= SCALE) {
      this.#deposited -= SCALE;
      return true;
    }
    this.#refillFloor();
    if (this.#floor >= 1) {
      this.#floor -= 1;
      return true;
    }
    return false;
  }

  /** Retries that could happen right now. */
  get available(): number {
    this.#refillFloor();
    return Math.floor(this.#deposited / SCALE) + Math.floor(this.#floor);
  }

  #refillFloor(): void {
    const now = this.#now();
    const elapsedMs = Math.max(0, now - this.#floorUpdatedAt);
    this.#floorUpdatedAt = now;
    this.#floor = Math.min(
      this.minRetriesPerSecond,
      this.#floor + (elapsedMs / 1000) * this.minRetriesPerSecond,
    );
  }
}
