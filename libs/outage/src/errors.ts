import { TetherInvalidOptionError } from '@tether/errors';

/**
 * A bad option passed to `new OutageTracker()`: the shared `TetherInvalidOptionError` (code
 * `TETHER_INVALID_OPTION`, `field` names the option). Thrown at construction so that a wrong option
 * is a start-up error, never a surprise in the middle of an outage.
 *
 * @deprecated Use `TetherInvalidOptionError` from `@tether/errors` (the same class). The code was
 * `TETHER_OUTAGE_INVALID_OPTION` before the libs shared one.
 */
export const OutageOptionsError = TetherInvalidOptionError;
/** @deprecated Use `TetherInvalidOptionError` from `@tether/errors`. */
export type OutageOptionsError = TetherInvalidOptionError;
