const PROPERTY = 'tetherAttempts';

/**
 * Marks an error that leaves `execute()` unchanged (not wrapped) with the number of attempts the call
 * made, as a non-enumerable `tetherAttempts` property: the caller still branches on `err.code`, logs
 * and serialisers see the error as the driver made it, and the count is there for whoever asks.
 */
export function markAttempts(error: unknown, attempts: number): void {
  if (typeof error !== 'object' || error === null || !Object.isExtensible(error)) return;
  try {
    Object.defineProperty(error, PROPERTY, { value: attempts, configurable: true, writable: true });
  } catch {
    // A frozen or exotic object: the span still has the count.
  }
}

/** How many attempts the `execute()` call that threw `error` made (undefined if it did not go through one). */
export function attemptsOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const value = (error as Record<string, unknown>)[PROPERTY];
  if (typeof value === 'number') return value;
  const own = (error as { attempts?: unknown }).attempts;
  return typeof own === 'number' ? own : undefined;
}
