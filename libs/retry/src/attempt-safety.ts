import type { Classification } from './classification.ts';
import { classify as defaultClassify } from './classify.ts';

/**
 * What one attempt of a unit of work has sent so far. "Nothing reached the server" is a fact about
 * one command, not about a callback: once any command of the attempt was sent, an error proving that
 * a *later* command was not sent says nothing about the earlier ones, so re-running the whole
 * callback could apply them twice (`INSERT a` ran, the connection died, `INSERT b` was refused).
 *
 * The retry policy creates one per attempt and hands it to the attempt as `ctx.sent`; a client that
 * runs several commands for a callback (pooling's `withClient()` / `transaction()`, Redis `execute()`)
 * wraps each command in `trackCommand()`.
 */
export class AttemptRecord {
  #commands = 0;

  /** Call right before a command is handed to the driver. */
  commandSent(): void {
    this.#commands++;
  }

  /** That command was refused before anything left the process: it no longer counts as sent. */
  commandNotSent(): void {
    if (this.#commands > 0) this.#commands--;
  }

  /** Whether some command of this attempt may have reached the server. */
  get anySent(): boolean {
    return this.#commands > 0;
  }
}

/**
 * Runs one command of an attempt and records it: counted as sent unless it fails with an error that
 * proves it never left the process (classification safety `always`).
 */
export async function trackCommand<T>(
  record: AttemptRecord,
  command: () => Promise<T>,
  classify: (error: unknown) => Classification = defaultClassify,
): Promise<T> {
  record.commandSent();
  try {
    return await command();
  } catch (error) {
    if (classify(error).safety === 'always') record.commandNotSent();
    throw error;
  }
}

/** What the caller said about its unit of work (the subset of `CallOptions` the rule reads). */
export interface AttemptFlags {
  /** The whole unit may run twice without harm. */
  idempotent?: boolean | undefined;
  /**
   * The unit is a whole database transaction with no side effects outside it: when the server rolled
   * all of it back (40001, 40P01) running it again is safe.
   */
  transaction?: boolean | undefined;
}

/**
 * THE retry-safety rule, per attempt (documented with its table in the retry README, "Retry safety"):
 *
 * - only `transient` failures are retried;
 * - a failure that rolled the whole transaction back (40001, 40P01) is retried only when the unit is
 *   flagged `transaction` (a whole transaction without outside side effects);
 * - a failure proving that nothing was sent (safety `always`) is retried when *no command of this
 *   attempt* was sent; once one was, it counts as `idempotent`;
 * - a failure after which the work may have run (safety `idempotent`) is retried only when the unit is
 *   flagged `idempotent`;
 * - safety `never` (08007, commit outcome unknown…) is never retried.
 */
export function mayRetryAttempt(c: Classification, sentBefore: boolean, flags: AttemptFlags): boolean {
  if (c.kind !== 'transient') return false;
  if (c.retryTransaction) return flags.transaction === true;
  if (c.safety === 'always' && !sentBefore) return true;
  return c.safety !== 'never' && flags.idempotent === true;
}

/** The classification as this attempt sees it: "nothing was sent" drops to `idempotent` once something was. */
export function attemptClassification(c: Classification, sentBefore: boolean): Classification {
  if (c.safety !== 'always' || !sentBefore) return c;
  return {
    ...c,
    safety: 'idempotent',
    reason: `${c.reason} (after earlier commands of the attempt were sent)`,
  };
}
