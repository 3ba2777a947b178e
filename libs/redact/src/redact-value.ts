import { isSecretKey } from './secret-keys.ts';

/** What replaces the value of a secret key in an object. */
export const REDACTED = '[redacted]';

const maxDepth = 8;

/**
 * A copy of `value` with the value of every secret key (`isSecretKey`) replaced by `[redacted]`, at
 * any depth and whatever its type. Strings are not scanned here (use `redactText` for that);
 * Errors, Dates and binary data are returned as they are. Never mutates the caller's object.
 */
export function redactValue(
  value: unknown,
  extraKeys?: ReadonlySet<string>,
  depth = 0,
  seen = new WeakSet<object>(),
): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (depth >= maxDepth) return '[depth limit]';
  if (value instanceof Error || value instanceof Date || ArrayBuffer.isView(value)) return value;
  // Only the current path counts: the same object reached twice (not a cycle) is copied twice.
  if (seen.has(value)) return '[circular]';
  seen.add(value);
  let out: unknown;
  if (Array.isArray(value)) {
    out = value.map((v) => redactValue(v, extraKeys, depth + 1, seen));
  } else {
    const copy: Record<string, unknown> = {};
    for (const key of Object.keys(value)) {
      const v = (value as Record<string, unknown>)[key];
      copy[key] =
        v !== undefined && v !== null && v !== '' && isSecretKey(key, extraKeys)
          ? REDACTED
          : redactValue(v, extraKeys, depth + 1, seen);
    }
    out = copy;
  }
  seen.delete(value);
  return out;
}
