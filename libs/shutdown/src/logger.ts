/**
 * The logging surface the lifecycle needs: a subset of pino's, so a pino logger can be passed as is
 * (`createLifecycle({ logger: pino() })`). The lib does not depend on pino: its default writes one JSON
 * line per event to stderr, with pino's numeric levels so both kinds of lines read the same downstream.
 */
export interface Logger {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

const levels = { info: 30, warn: 40, error: 50 } as const;

function line(level: keyof typeof levels, fields: Record<string, unknown>, message: string): void {
  // stderr is synchronous for files and pipes on Linux, so lines written just before exit are not lost.
  process.stderr.write(
    `${JSON.stringify({ level: levels[level], time: Date.now(), name: 'tether-shutdown', msg: message, ...fields })}\n`,
  );
}

/** Minimal JSON-lines logger to stderr (the default). */
export const stderrLogger: Logger = {
  info: (fields, message) => line('info', fields, message),
  warn: (fields, message) => line('warn', fields, message),
  error: (fields, message) => line('error', fields, message),
};

/** Error to a loggable object without stack noise; messages of driver errors carry no secrets. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  return String(error);
}
