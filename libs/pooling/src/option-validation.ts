import { existsSync, readFileSync } from 'node:fs';
import { PoolConfigError } from './errors.ts';

/** `value ?? fallback`, checked to be a finite number >= min (an integer when asked). */
export function numberOption(
  field: string,
  value: unknown,
  fallback: number,
  rule: { min: number; integer?: boolean },
): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new PoolConfigError(
      field,
      `must be a finite number, got ${typeof value === 'number' ? String(value) : typeof value}`,
    );
  }
  if (rule.integer && !Number.isInteger(value))
    throw new PoolConfigError(field, `must be an integer, got ${value}`);
  if (value < rule.min) throw new PoolConfigError(field, `must be >= ${rule.min}, got ${value}`);
  return value;
}

export function booleanOption(field: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean')
    throw new PoolConfigError(field, `must be true or false, got ${typeof value}`);
  return value;
}

/** A non-empty string. Only for non-secret fields: the value may be echoed in the error. */
export function stringOption(field: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.length === 0)
    throw new PoolConfigError(field, 'must be a non-empty string');
  return value;
}

export function oneOfOption<T extends string>(
  field: string,
  value: unknown,
  fallback: T,
  allowed: readonly T[],
  hint = '',
): T {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !allowed.includes(value as T)) {
    const shown = typeof value === 'string' ? `"${value}"` : typeof value;
    throw new PoolConfigError(field, `must be one of ${allowed.join(' | ')}, got ${shown}${hint}`);
  }
  return value as T;
}

/** A secret given as a string; its value never appears in an error. */
export function secretOption(field: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new PoolConfigError(field, `must be a string, got ${typeof value}`);
  return value;
}

/**
 * Reads a file that must exist and be non-empty (a Kubernetes secret mount, a CA bundle). Trailing
 * newlines are dropped: `kubectl create secret --from-file` keeps the one most editors add.
 */
export function readRequiredFile(field: string, path: unknown): string {
  if (typeof path !== 'string' || path.length === 0)
    throw new PoolConfigError(field, 'must be a non-empty file path');
  if (!existsSync(path))
    throw new PoolConfigError(field, `file ${path} does not exist (is the secret mounted?)`);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new PoolConfigError(
      field,
      `file ${path} cannot be read: ${(error as NodeJS.ErrnoException).code ?? 'unknown error'}`,
    );
  }
  const trimmed = text.replace(/[\r\n]+$/, '');
  if (trimmed.length === 0) throw new PoolConfigError(field, `file ${path} is empty`);
  return trimmed;
}

/** Rejects keys nobody reads: a typo (`idleTimeoutMS`) must not silently fall back to a default. */
export function rejectUnknownKeys(field: string, value: object, known: readonly string[]): void {
  for (const key of Object.keys(value)) {
    if (!known.includes(key))
      throw new PoolConfigError(field === '' ? key : `${field}.${key}`, 'is not a known option');
  }
}
