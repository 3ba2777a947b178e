/** A stable error code: `TETHER_` and upper snake case. Branch on it, never on the message. */
export type TetherCode = `TETHER_${string}`;

/** What every Tether error constructor takes besides its code and message (standard `cause` included). */
export interface TetherErrorOptions extends ErrorOptions {
  /** Whether trying the same thing again later can succeed (a dropped connection: yes; a bad option: no). */
  retryable: boolean;
}

// Symbol.for: the same symbol in every copy of this package (two versions in node_modules, a bundle
// with its own copy, another vm context), so the guard below recognises all of them where
// `instanceof` recognises only errors of its own copy.
const BRAND = Symbol.for('@tether/errors.TetherError');

/**
 * The base of every Tether error: a stable `TETHER_*` code to branch on (never the message), whether
 * trying again later can help (`retryable`), and the underlying `cause`. Recognise one with
 * `isTetherError(e)`, which also works across duplicated copies of this package.
 */
export class TetherError extends Error {
  readonly code: TetherCode;
  readonly retryable: boolean;

  constructor(code: TetherCode, message: string, options: TetherErrorOptions) {
    // Only a `cause` that was given becomes an own property: `{ cause: undefined }` would print as one.
    super(message, 'cause' in options ? { cause: options.cause } : undefined);
    this.name = new.target.name;
    this.code = code;
    this.retryable = options.retryable;
  }
}

// On the prototype, not the instance: it never shows up in a log line or a JSON dump.
Object.defineProperty(TetherError.prototype, BRAND, { value: true });

/**
 * True for an error of any Tether lib, from any copy of `@tether/errors` (cockatiel's
 * `isBrokenCircuitError` pattern, with a registered symbol instead of a property name).
 */
export function isTetherError(error: unknown): error is TetherError {
  return (
    typeof error === 'object' &&
    error !== null &&
    (error as Record<symbol, unknown>)[BRAND] === true &&
    typeof (error as { code?: unknown }).code === 'string'
  );
}
