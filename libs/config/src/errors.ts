import { redactText } from '@tether/redact';

/** Bad configuration: one message naming every offending variable, never its (possibly secret) value. */
export class ConfigError extends Error {
  readonly code = 'TETHER_CONFIG_INVALID';
  readonly retryable = false;
  /** The variables that were wrong, e.g. `['DATABASE_URL', 'PORT']`. */
  readonly variables: string[];

  constructor(problems: { variable: string; problem: string }[]) {
    // Problems are written not to quote values, but a validator's message can (zod's own text
    // for a future rule, a URL parser's): the shared scrubber is the safety net.
    super(
      `invalid configuration: ${problems.map((p) => `${p.variable} ${redactText(p.problem)}`).join('; ')}`,
    );
    this.name = 'ConfigError';
    this.variables = problems.map((p) => p.variable);
  }
}
