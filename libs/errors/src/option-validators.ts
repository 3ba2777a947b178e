import { TetherInvalidOptionError } from './invalid-option.ts';

/**
 * The option validators every Tether lib uses: each returns the value (or the fallback when the
 * option is `undefined`) and throws `TetherInvalidOptionError` naming the field otherwise, worded
 * `<field> must be …, got <value>`.
 */

/** Node's timers overflow above this (about 24.8 days) and fire at once instead. */
export const MAX_TIMER_MS = 2_147_483_647;

/** Bounds of a number option; `integer` also refuses fractions. */
export interface NumberRule {
  min?: number;
  max?: number;
  integer?: boolean;
}

/** `an integer >= 1`, `a number between 0 and 1`, `a finite number`: what a NumberRule asks for. */
export function describeNumberRule(rule: NumberRule): string {
  const kind = rule.integer ? 'an integer' : 'a number';
  if (rule.min !== undefined && rule.max !== undefined) return `${kind} between ${rule.min} and ${rule.max}`;
  if (rule.min !== undefined) return `${kind} >= ${rule.min}`;
  if (rule.max !== undefined) return `${kind} <= ${rule.max}`;
  return rule.integer ? kind : 'a finite number';
}

/** Whether `value` is a finite number that satisfies `rule`. */
export function satisfiesNumberRule(value: unknown, rule: NumberRule): value is number {
  return (
    typeof value === 'number' &&
    Number.isFinite(value) &&
    (!rule.integer || Number.isInteger(value)) &&
    (rule.min === undefined || value >= rule.min) &&
    (rule.max === undefined || value <= rule.max)
  );
}

/** `value ?? fallback`, checked against `rule`: `max must be an integer >= 1, got 0`. */
export function numberOption(field: string, value: unknown, fallback: number, rule: NumberRule): number {
  if (value === undefined) return fallback;
  if (!satisfiesNumberRule(value, rule))
    throw new TetherInvalidOptionError(field, `must be ${describeNumberRule(rule)}`, { value });
  return value;
}

export function booleanOption(field: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean')
    throw new TetherInvalidOptionError(field, 'must be true or false', { value });
  return value;
}

/** An optional non-empty string. Only for non-secret fields: the value is shown in the error. */
export function stringOption(field: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.trim() === '')
    throw new TetherInvalidOptionError(field, 'must be a non-empty string', { value });
  return value;
}

/** A required non-empty string (`is required` when missing). */
export function requiredStringOption(field: string, value: unknown, example = ''): string {
  if (value === undefined) throw new TetherInvalidOptionError(field, `is required${example}`);
  return stringOption(field, value) as string;
}

/** A secret given as a string: a wrong one is described by its type, never shown. */
export function secretOption(field: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string')
    throw new TetherInvalidOptionError(field, 'must be a string', { value, secret: true });
  return value;
}

/** One of `allowed`: `must be one of "a", "b"<hint>, got "c"`. */
export function oneOfOption<T extends string>(
  field: string,
  value: unknown,
  fallback: T,
  allowed: readonly T[],
  hint = '',
): T {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !allowed.includes(value as T))
    throw new TetherInvalidOptionError(field, `must be ${describeChoices(allowed)}${hint}`, { value });
  return value as T;
}

/** `"a"`, `either "a" or "b"`, `one of "a", "b", "c"`. */
export function describeChoices(allowed: readonly string[]): string {
  const quoted = allowed.map((a) => JSON.stringify(a));
  if (quoted.length === 1) return quoted[0] as string;
  if (quoted.length === 2) return `either ${quoted[0]} or ${quoted[1]}`;
  return `one of ${quoted.join(', ')}`;
}

export function functionOption<T extends (...args: never[]) => unknown>(
  field: string,
  value: unknown,
  fallback: T,
): T {
  if (value === undefined) return fallback;
  if (typeof value !== 'function') throw new TetherInvalidOptionError(field, 'must be a function', { value });
  return value as T;
}

/** A plain object (not null, not an array): an options bag or a nested group of options. */
export function objectOption(field: string, value: unknown): asserts value is object {
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new TetherInvalidOptionError(field, 'must be an object', { value });
}

/**
 * An object with the given methods (a logger, a tracer, a registrar):
 * `logger must have info(), warn() and error() methods (a pino logger fits), got an object`.
 */
export function methodsOption<T>(field: string, value: unknown, methods: readonly string[], hint = ''): T {
  if (
    value === null ||
    typeof value !== 'object' ||
    methods.some((m) => typeof (value as Record<string, unknown>)[m] !== 'function')
  ) {
    const names = methods.map((m) => `${m}()`);
    const list = names.length === 1 ? names[0] : `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`;
    const noun = names.length === 1 ? 'method' : 'methods';
    throw new TetherInvalidOptionError(field, `must have ${list} ${noun}${hint}`, { value });
  }
  return value as T;
}

/**
 * Refuses keys nobody reads: a typo (`idleTimeoutMS`) must not silently fall back to a default.
 * `prefix` is the group's field (`retry`), or `''` for the top level.
 */
export function rejectUnknownKeys(prefix: string, value: object, known: readonly string[]): void {
  for (const key of Object.keys(value)) {
    if (!known.includes(key))
      throw new TetherInvalidOptionError(prefix === '' ? key : `${prefix}.${key}`, 'is not a known option');
  }
}

/**
 * An integer from an environment variable: unset or blank gives the fallback; anything but decimal
 * digits (with an optional minus) is refused, as is a value outside `rule`:
 * `SHUTDOWN_TIMEOUT_MS must be an integer >= 1, got "0"`.
 */
export function integerFromEnv(
  env: Readonly<Record<string, string | undefined>>,
  name: string,
  fallback: number,
  rule: Omit<NumberRule, 'integer'> = {},
): number {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return fallback;
  const value = /^-?\d+$/.test(raw) ? Number(raw) : Number.NaN;
  const full = { ...rule, integer: true };
  if (!Number.isSafeInteger(value) || !satisfiesNumberRule(value, full))
    throw new TetherInvalidOptionError(name, `must be ${describeNumberRule(full)}`, { value: raw });
  return value;
}
