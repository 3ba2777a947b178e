import { functionOption, numberOption, oneOfOption, TetherInvalidOptionError } from '@tether/errors';

export type Jitter = 'decorrelated' | 'full';

export interface BackoffOptions {
  /** First delay (decorrelated: the lower bound of every delay; full: the first window). Default 100 ms. */
  initialDelayMs?: number;
  /** No delay is ever longer than this. Default 5000 ms. */
  maxDelayMs?: number;
  /**
   * `decorrelated` (default): `min(maxDelayMs, random(initialDelayMs, previous * 3))`.
   * `full`: `random(0, min(maxDelayMs, initialDelayMs * 2^n))` for the n-th delay (n from 0).
   * Both from "Exponential Backoff And Jitter", AWS Architecture Blog, 2015.
   */
  jitter?: Jitter;
  /** Uniform random source in [0, 1). Default `Math.random`; inject a seeded PRNG for reproducible delays. */
  random?: () => number;
}

export interface Backoff {
  /** The next delay in milliseconds. */
  next(): number;
  /** Start over from the first delay (call after a success). */
  reset(): void;
}

const BACKOFF_DEFAULTS = { initialDelayMs: 100, maxDelayMs: 5000, jitter: 'decorrelated' } as const;

export interface ResolvedBackoffOptions {
  initialDelayMs: number;
  maxDelayMs: number;
  jitter: Jitter;
  random: () => number;
}

/** Validates backoff options (shared by createBackoff and createRetryPolicy so both reject the same input). */
export function resolveBackoffOptions(options: BackoffOptions = {}): ResolvedBackoffOptions {
  const initialDelayMs = numberOption(
    'initialDelayMs',
    options.initialDelayMs,
    BACKOFF_DEFAULTS.initialDelayMs,
    { min: 1 },
  );
  const maxDelayMs = numberOption(
    'maxDelayMs',
    options.maxDelayMs,
    Math.max(BACKOFF_DEFAULTS.maxDelayMs, initialDelayMs),
    { min: 1 },
  );
  if (maxDelayMs < initialDelayMs) {
    throw new TetherInvalidOptionError('maxDelayMs', `must be >= initialDelayMs (${initialDelayMs})`, {
      value: maxDelayMs,
    });
  }
  return {
    initialDelayMs,
    maxDelayMs,
    jitter: oneOfOption('jitter', options.jitter, BACKOFF_DEFAULTS.jitter, ['decorrelated', 'full']),
    random: functionOption('random', options.random, Math.random),
  };
}

/**
 * A stateful jittered exponential backoff. Jitter spreads the retries of many clients that failed at
 * the same moment (a database restart) so they do not come back in lockstep.
 */
export function createBackoff(options: BackoffOptions = {}): Backoff {
  const { initialDelayMs, maxDelayMs, jitter, random } = resolveBackoffOptions(options);
  let attempt = 0;
  let previous = initialDelayMs;
  return {
    next() {
      if (jitter === 'full') {
        // 2 ** attempt overflows to Infinity after ~1000 attempts; min() keeps that harmless.
        const window = Math.min(maxDelayMs, initialDelayMs * 2 ** attempt);
        attempt++;
        return random() * window;
      }
      const upper = Math.min(maxDelayMs, previous * 3);
      previous = Math.min(maxDelayMs, initialDelayMs + random() * (upper - initialDelayMs));
      return previous;
    },
    reset() {
      attempt = 0;
      previous = initialDelayMs;
    },
  };
}
