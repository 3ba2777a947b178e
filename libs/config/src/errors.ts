import { TetherError } from '@tether/errors';
import { redactText } from '@tether/redact';

/**
 * Bad configuration: one message naming every offending variable, never its (possibly secret)
 * value. Its own code (`TETHER_CONFIG_INVALID`), not `TETHER_INVALID_OPTION`: it reports every
 * wrong variable of the environment at once (`variables`), so one restart fixes them all, where an
 * option error names the first wrong option of one call (`field`).
 */
export class ConfigError extends TetherError {
  declare readonly code: 'TETHER_CONFIG_INVALID';
  /** The variables that were wrong, e.g. `['DATABASE_URL', 'PORT']`. */
  readonly variables: string[];

  constructor(problems: { variable: string; problem: string }[]) {
    // Problems are written not to quote values, but a validator's message can (zod's own text
    // for a future rule, a URL parser's): the shared scrubber is the safety net.
    const listed = problems.map((p) => `${p.variable} ${redactText(p.problem)}`).join('; ');
    super('TETHER_CONFIG_INVALID', `invalid configuration: ${listed}`, { retryable: false });
    this.variables = problems.map((p) => p.variable);
  }
}
