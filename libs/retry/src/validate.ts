import { InvalidOptionError } from './errors.ts';

/** Node's timers overflow above this (about 24.8 days) and fire at once instead. */
export const MAX_TIMER_MS = 2_147_483_647;

/** Returns `value ?? fallback` after checking it is a finite number >= min (and an integer if asked). */
export function numberOption(
  option: string,
  value: unknown,
  fallback: number,
  rule: { min: number; max?: number; integer?: boolean },
): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new InvalidOptionError(
      option,
      `must be a finite number, got ${typeof value === 'number' ? value : typeof value}`,
    );
  }
  if (rule.integer && !Number.isInteger(value))
    throw new InvalidOptionError(option, `must be an integer, got ${value}`);
  if (value < rule.min) throw new InvalidOptionError(option, `must be >= ${rule.min}, got ${value}`);
  if (rule.max !== undefined && value > rule.max)
    throw new InvalidOptionError(option, `must be <= ${rule.max}, got ${value}`);
  return value;
}

export function oneOfOption<T extends string>(
  option: string,
  value: unknown,
  fallback: T,
  allowed: readonly T[],
): T {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !allowed.includes(value as T)) {
    throw new InvalidOptionError(
      option,
      `must be one of ${allowed.map((a) => `'${a}'`).join(', ')}, got ${String(value)}`,
    );
  }
  return value as T;
}

export function functionOption<T extends (...args: never[]) => unknown>(
  option: string,
  value: unknown,
  fallback: T,
): T {
  if (value === undefined) return fallback;
  if (typeof value !== 'function')
    throw new InvalidOptionError(option, `must be a function, got ${typeof value}`);
  return value as T;
}

export function stringOption(option: string, value: unknown, fallback?: string): string {
  if (value === undefined && fallback !== undefined) return fallback;
  if (typeof value !== 'string' || value.length === 0)
    throw new InvalidOptionError(option, 'must be a non-empty string');
  return value;
}
