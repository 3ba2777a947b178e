/** Failures of the simulator itself (bad option, a pod that never became ready). Codes are stable. */
export class RolloutSimError extends Error {
  readonly code: string;
  readonly retryable = false;
  constructor(code: `TETHER_ROLLOUT_${string}`, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'RolloutSimError';
    this.code = code;
  }
}

export function invalidOption(field: string, message: string): RolloutSimError {
  return new RolloutSimError('TETHER_ROLLOUT_INVALID_OPTION', `${field} ${message}`);
}

export function integerOption(field: string, value: unknown, fallback: number, min = 0): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw invalidOption(field, `must be an integer >= ${min}, got ${JSON.stringify(value)}`);
  }
  return value;
}
