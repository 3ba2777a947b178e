import { hostname } from 'node:os';

/**
 * The default log line of every Tether lib that logs without being given a logger: one JSON object
 * per line on stderr, shaped like pino's (`level` as pino's number, `time` in ms since the epoch,
 * `pid`, `hostname`, `name`, the fields, `msg` last), so a collector reads the libs' lines and the
 * apps' pino lines alike. Pass the app's pino logger to a lib instead whenever there is one.
 */

/** pino's numeric levels. */
export const LEVELS = { debug: 20, info: 30, warn: 40, error: 50 } as const;

export type LevelName = keyof typeof LEVELS;

/** The pino-compatible subset the libs log through: `pino()` instances fit as they are. */
export interface LineLogger {
  debug(fields: object, msg: string): void;
  info(fields: object, msg: string): void;
  warn(fields: object, msg: string): void;
  error(fields: object, msg: string): void;
}

const host = hostname();

/** One line as pino writes it. Fields cannot overwrite `level`, `time` or `msg`. */
export function formatLogLine(
  level: LevelName,
  name: string,
  fields: object,
  msg: string,
  now = Date.now(),
): string {
  const line: Record<string, unknown> = {
    level: LEVELS[level],
    time: now,
    pid: process.pid,
    hostname: host,
    name,
  };
  Object.assign(line, fields);
  line['level'] = LEVELS[level];
  line['time'] = now;
  delete line['msg'];
  line['msg'] = msg;
  return `${JSON.stringify(line)}\n`;
}

/**
 * A logger writing `formatLogLine` lines to stderr for `minLevel` and above (stderr is synchronous for
 * files and pipes on Linux, so lines written just before an exit are not lost).
 */
export function createStderrLogger(name: string, minLevel: LevelName = 'info'): LineLogger {
  const at = (level: LevelName) =>
    LEVELS[level] < LEVELS[minLevel]
      ? () => {}
      : (fields: object, msg: string) => {
          process.stderr.write(formatLogLine(level, name, fields, msg));
        };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}
