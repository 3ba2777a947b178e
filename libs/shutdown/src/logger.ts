import { createStderrLogger } from '@tether/errors/log-line';

/**
 * The logging surface the lifecycle needs: a subset of pino's, so a pino logger can be passed as is
 * (`createLifecycle({ logger: pino() })`). The lib does not depend on pino: its default writes one JSON
 * line per event to stderr, shaped like pino's, so both kinds of lines read the same downstream.
 */
export interface Logger {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

/**
 * The default: one pino-shaped JSON line per event on stderr (`@tether/errors/log-line`, the line
 * every Tether lib writes), info and above.
 */
export const stderrLogger: Logger = createStderrLogger('tether-shutdown', 'info');

/** Error to a loggable object without stack noise; messages of driver errors carry no secrets. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  return String(error);
}
