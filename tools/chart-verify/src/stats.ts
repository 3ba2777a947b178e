/** Count, min, median and max of a set of durations: the shape simulate and live report them in. */
export interface Stats {
  count: number;
  min: number;
  median: number;
  max: number;
}

/** The stats of the defined values, or undefined when there are none. */
export function stats(values: (number | undefined)[]): Stats | undefined {
  const sorted = values.filter((v): v is number => v !== undefined).sort((a, b) => a - b);
  if (sorted.length === 0) return undefined;
  return {
    count: sorted.length,
    min: sorted[0] as number,
    median: sorted[Math.floor(sorted.length / 2)] as number,
    max: sorted[sorted.length - 1] as number,
  };
}
