/**
 * Latency distributions as percentile curves: a fixed set of percentiles, spaced evenly in "nines"
 * (50, 90, 99, 99.9 … are equally far apart), so the tail gets as many points as the body. A curve
 * of ~60 points replaces any number of samples in the JSON and is what the HTML report plots.
 */

export interface LatencyCurve {
  /** percentiles, 0..100, ascending; the last one is 100 (the maximum) */
  p: number[];
  /** the latency at each percentile, ms (nearest rank) */
  ms: number[];
  /** how many samples the curve was drawn from */
  count: number;
}

/** Percentiles 0, then 100·(1 − 10^(−k/10)) for k = 1..50 (up to 99.999), then 100. */
const PERCENTILES: readonly number[] = [
  0,
  ...Array.from({ length: 50 }, (_, i) => 100 * (1 - 10 ** (-(i + 1) / 10))),
  100,
];

/** The curve of an unsorted sample; percentiles beyond what the sample resolves are left out. */
export function latencyCurve(samples: readonly number[]): LatencyCurve {
  const sorted = Float64Array.from(samples).sort();
  const n = sorted.length;
  const p: number[] = [];
  const ms: number[] = [];
  for (const exact of PERCENTILES) {
    const q = Number(exact.toFixed(4));
    // 99.99 from 1,000 samples is just the maximum again: stop once a percentile needs more samples.
    if (q > 0 && q < 100 && 100 - q < 100 / n - 1e-9) continue;
    // The epsilon keeps float noise (99.9 as 99.90000000000001) from moving a rank up by one.
    const rank = Math.min(n - 1, Math.max(0, Math.ceil((q / 100) * n - 1e-9) - 1));
    p.push(q);
    ms.push(sorted[rank] as number);
  }
  return { p, ms, count: n };
}

/** How many nines a percentile has (x axis of the curves): 0 -> 0, 90 -> 1, 99 -> 2, 100 -> capped. */
export function nines(p: number, cap: number): number {
  return p >= 100 ? cap : Math.min(cap, -Math.log10(1 - p / 100));
}
