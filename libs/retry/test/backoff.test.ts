import { describe, expect, it } from 'vitest';
import { TetherInvalidOptionError } from '@tether/errors';
import { createBackoff, InvalidOptionError } from '../src/index.ts';
import { mulberry32 } from './mulberry32.ts';

const SAMPLES = 20_000;

function mean(values: number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

describe('full jitter', () => {
  const initialDelayMs = 100;
  const maxDelayMs = 3000;

  it('the n-th delay lies in [0, min(maxDelayMs, initialDelayMs * 2^n))', () => {
    const backoff = createBackoff({ initialDelayMs, maxDelayMs, jitter: 'full', random: mulberry32(1) });
    for (let run = 0; run < 500; run++) {
      for (let n = 0; n < 12; n++) {
        const delay = backoff.next();
        expect(delay).toBeGreaterThanOrEqual(0);
        expect(delay).toBeLessThan(Math.min(maxDelayMs, initialDelayMs * 2 ** n));
      }
      backoff.reset();
    }
  });

  it('is uniform over its window: mean ≈ window / 2, quartiles ≈ window / 4 apart', () => {
    const backoff = createBackoff({ initialDelayMs, maxDelayMs, jitter: 'full', random: mulberry32(2) });
    // Third delay (n = 2): window 400 ms. Eighth (n = 7): window capped at 3000 ms.
    const third: number[] = [];
    const eighth: number[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      backoff.reset();
      const delays = Array.from({ length: 8 }, () => backoff.next());
      third.push(delays[2] as number);
      eighth.push(delays[7] as number);
    }
    expect(mean(third)).toBeCloseTo(200, -1);
    expect(Math.abs(mean(eighth) - 1500) / 1500).toBeLessThan(0.02);
    const belowQuarter = third.filter((d) => d < 100).length / SAMPLES;
    expect(Math.abs(belowQuarter - 0.25)).toBeLessThan(0.02);
  });
});

describe('decorrelated jitter', () => {
  const initialDelayMs = 50;
  const maxDelayMs = 2000;

  it('each delay lies in [initialDelayMs, min(maxDelayMs, previous * 3)]', () => {
    const backoff = createBackoff({
      initialDelayMs,
      maxDelayMs,
      jitter: 'decorrelated',
      random: mulberry32(3),
    });
    for (let run = 0; run < 500; run++) {
      let previous = initialDelayMs;
      for (let n = 0; n < 20; n++) {
        const delay = backoff.next();
        expect(delay).toBeGreaterThanOrEqual(initialDelayMs);
        expect(delay).toBeLessThanOrEqual(Math.min(maxDelayMs, previous * 3));
        previous = delay;
      }
      backoff.reset();
    }
  });

  it('spreads as the algorithm says: each delay uniform over [base, min(cap, previous * 3)]', () => {
    const backoff = createBackoff({
      initialDelayMs,
      maxDelayMs,
      jitter: 'decorrelated',
      random: mulberry32(4),
    });
    const first: number[] = [];
    // Where each delay fell inside the window its predecessor allowed, 0 = base, 1 = upper bound.
    const positions: number[] = [];
    const last: number[] = [];
    for (let i = 0; i < SAMPLES / 10; i++) {
      backoff.reset();
      let previous = initialDelayMs;
      for (let n = 0; n < 20; n++) {
        const delay = backoff.next();
        if (n === 0) first.push(delay);
        positions.push((delay - initialDelayMs) / (Math.min(maxDelayMs, previous * 3) - initialDelayMs));
        previous = delay;
      }
      last.push(previous);
    }
    // Uniform on [50, 150]: mean 100.
    expect(Math.abs(mean(first) - 100) / 100).toBeLessThan(0.02);
    expect(Math.abs(mean(positions) - 0.5)).toBeLessThan(0.01);
    expect(Math.abs(positions.filter((p) => p < 0.25).length / positions.length - 0.25)).toBeLessThan(0.01);
    // Late delays wander over the whole range instead of piling up at the cap (as AWS' min(cap, …) form does).
    expect(last.filter((d) => d === maxDelayMs).length).toBe(0);
    expect(Math.min(...last)).toBeLessThan(200);
    expect(Math.max(...last)).toBeGreaterThan(1900);
    // Clients that failed together do not come back together.
    expect(new Set(first.map((d) => Math.round(d))).size).toBeGreaterThan(90);
  });

  it('reset() starts over from initialDelayMs', () => {
    const backoff = createBackoff({ initialDelayMs: 10, maxDelayMs: 10_000, random: () => 0.999 });
    for (let i = 0; i < 10; i++) backoff.next();
    backoff.reset();
    expect(backoff.next()).toBeLessThanOrEqual(30);
  });
});

describe('createBackoff() options', () => {
  it('the same seed gives the same delays', () => {
    const a = createBackoff({ random: mulberry32(42) });
    const b = createBackoff({ random: mulberry32(42) });
    expect(Array.from({ length: 10 }, () => a.next())).toEqual(Array.from({ length: 10 }, () => b.next()));
  });

  it('defaults: decorrelated from 100 ms, capped at 5000 ms, Math.random', () => {
    const backoff = createBackoff();
    const delays = Array.from({ length: 50 }, () => backoff.next());
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(100);
    expect(Math.max(...delays)).toBeLessThanOrEqual(5000);
  });

  it.each([
    [{ initialDelayMs: 0 }, 'initialDelayMs'],
    [{ initialDelayMs: Number.NaN }, 'initialDelayMs'],
    [{ initialDelayMs: 200, maxDelayMs: 100 }, 'maxDelayMs'],
    [{ jitter: 'equal' }, 'jitter'],
    [{ random: 0.5 }, 'random'],
  ])('rejects %o naming %s', (options, field) => {
    const attempt = () => createBackoff(options as never);
    // The deprecated name is the shared class itself, so old `instanceof` checks keep working.
    expect(attempt).toThrow(InvalidOptionError);
    expect(attempt).toThrow(TetherInvalidOptionError);
    expect(attempt).toThrow(expect.objectContaining({ field, code: 'TETHER_INVALID_OPTION' }));
    expect(attempt).toThrow(new RegExp(`^${field} must `));
  });
});
