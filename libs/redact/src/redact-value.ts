import { isSecretKey } from './secret-keys.ts';

/** What replaces the value of a secret key in an object. */
export const REDACTED = '[redacted]';

const maxDepth = 8;

/**
 * `value` with the value of every secret key (`isSecretKey`) replaced by `[redacted]`, at any depth
 * and whatever its type. Never mutates the caller's object: what changes is copied, and an object
 * without any secret is returned as it is (a log line without secrets then costs no allocation).
 * Strings are not scanned here (use `redactText` for that); Errors, Dates and binary data are
 * returned as they are.
 */
export function redactValue(
  value: unknown,
  extraKeys?: ReadonlySet<string>,
  depth = 0,
  seen?: WeakSet<object>,
): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof Error || value instanceof Date || ArrayBuffer.isView(value)) return value;
  if (depth >= maxDepth) return '[depth limit]';
  // Only the current path counts: the same object reached twice (not a cycle) is handled twice.
  // Created at the first nested object: a flat log object (the usual one) needs none.
  if (seen?.has(value)) return '[circular]';
  seen?.add(value);
  let path = seen;
  let out: unknown = value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const v: unknown = value[i];
      const next =
        v !== null && typeof v === 'object'
          ? redactValue(v, extraKeys, depth + 1, (path ??= new WeakSet<object>([value])))
          : v;
      if (next !== value[i]) {
        if (out === value) out = [...value];
        (out as unknown[])[i] = next;
      }
    }
  } else {
    for (const key of Object.keys(value)) {
      const v = (value as Record<string, unknown>)[key];
      const next =
        v !== undefined && v !== null && v !== '' && isSecretKey(key, extraKeys)
          ? REDACTED
          : v !== null && typeof v === 'object'
            ? redactValue(v, extraKeys, depth + 1, (path ??= new WeakSet<object>([value])))
            : v;
      if (next !== v) {
        if (out === value) out = { ...value };
        (out as Record<string, unknown>)[key] = next;
      }
    }
  }
  path?.delete(value);
  return out;
}
