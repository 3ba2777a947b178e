import { classify } from '@tether/retry';
import { expect } from 'vitest';

/**
 * Non-idempotent writes for fault tests: each write INCRs a key of its own, so a key's final value
 * is how often that write was applied. `reconcile()` then proves "nothing applied twice, each write
 * succeeded exactly once or its caller got an error".
 */
export class IncrLedger {
  private readonly outcomes = new Map<string, { returned?: number; error?: unknown }>();
  private n = 0;
  private readonly prefix: string;

  constructor(prefix: string) {
    this.prefix = prefix;
  }

  /** Runs one INCR through `incr` on a fresh key and records what its caller saw. */
  async write(incr: (key: string) => Promise<number>): Promise<void> {
    const key = `${this.prefix}:${this.n++}`;
    try {
      this.outcomes.set(key, { returned: await incr(key) });
    } catch (error) {
      this.outcomes.set(key, { error });
      throw error;
    }
  }

  get size(): number {
    return this.outcomes.size;
  }

  /**
   * Reads every key back (`read` returns the value or null) and checks each write: success -> the
   * INCR returned 1 and the key is 1; "nothing was sent" error -> 0; an outcome-unknown error ->
   * 0 or 1, counted apart. Never above 1.
   */
  async reconcile(
    read: (keys: string[]) => Promise<(string | null)[]>,
  ): Promise<{ ok: number; notSent: number; unknown: number; unknownApplied: number }> {
    const keys = [...this.outcomes.keys()];
    const values = (await read(keys)).map((v) => Number(v ?? 0));
    const tally = { ok: 0, notSent: 0, unknown: 0, unknownApplied: 0 };
    keys.forEach((key, i) => {
      const value = values[i];
      const { returned, error } = this.outcomes.get(key) as { returned?: number; error?: unknown };
      expect(value, `${key} applied more than once`).toBeLessThanOrEqual(1);
      if (error === undefined) {
        tally.ok++;
        expect(returned, key).toBe(1);
        expect(value, `${key} succeeded but is not there`).toBe(1);
      } else if (classify(error).safety === 'always') {
        tally.notSent++;
        expect(value, `${key}: "nothing was sent", yet applied`).toBe(0);
      } else {
        tally.unknown++;
        tally.unknownApplied += value as number;
      }
    });
    return tally;
  }
}
