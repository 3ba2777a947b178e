import { TetherError } from './tether-error.ts';

/** How the offending value is shown after `, got`; a secret is shown by its type only. */
export interface InvalidOptionDetails extends ErrorOptions {
  /** The value that was given. Omit it when showing it says nothing (a missing option). */
  value?: unknown;
  /** The option holds a secret (a password, a key): only the value's type is shown, never the value. */
  secret?: boolean;
}

/**
 * An option or environment variable has a bad value. Thrown up front (construction, start-up), so a
 * wrong option is a start-up error, never a surprise in the middle of an outage. Never retryable.
 *
 * Every lib words the message alike: `<field> <problem>[, got <value>]`, e.g.
 * `max must be an integer >= 1, got 0`, `sslmode must be one of "disable", "require", got "prefer"`,
 * `idleTimeoutMS is not a known option`. The problem starts with a verb (`must`, `is`, `cannot`,
 * `needs`); the value is formatted here (`describeValue`), never by the caller.
 */
export class TetherInvalidOptionError extends TetherError {
  declare readonly code: 'TETHER_INVALID_OPTION';
  /** The option or environment variable at fault, e.g. `max`, `retry.maxDelayMs`, `SHUTDOWN_TIMEOUT_MS`. */
  readonly field: string;

  constructor(field: string, problem: string, details: InvalidOptionDetails = {}) {
    const got = 'value' in details ? `, got ${describeValue(details.value, details.secret === true)}` : '';
    super('TETHER_INVALID_OPTION', `${field} ${problem}${got}`, {
      retryable: false,
      ...('cause' in details ? { cause: details.cause } : {}),
    });
    this.field = field;
  }
}

const MAX_SHOWN = 60;

/**
 * A value as the option errors show it: numbers, booleans and `null` as written, strings quoted (and
 * cut after 60 characters), everything else by its kind (`an object`, `an array`, `a function`).
 * With `secret`, strings and numbers are shown by their type too.
 */
export function describeValue(value: unknown, secret = false): string {
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return 'an array';
  switch (typeof value) {
    case 'string': {
      if (secret) return 'a string';
      const cut = value.length > MAX_SHOWN ? `${value.slice(0, MAX_SHOWN - 1)}…` : value;
      return JSON.stringify(cut);
    }
    case 'number':
    case 'boolean':
      return secret ? `a ${typeof value}` : String(value);
    case 'bigint':
      return secret ? 'a bigint' : `${value}n`;
    case 'function':
      return 'a function';
    case 'symbol':
      return 'a symbol';
    default:
      return 'an object';
  }
}
