import { isSpanContextValid, trace } from '@opentelemetry/api';
import { type DestinationStream, type Logger, type LoggerOptions, pino } from 'pino';
import { oneOfOption, TetherInvalidOptionError } from '@tether/errors';
import { redactValue } from '@tether/redact';
import { jsonLineRedactor } from './log-redaction.ts';

export interface LoggerConfig {
  /** Logger name (`name` field on every line), usually the service name. Default: none. */
  name?: string;
  /** pino level. Default: `LOG_LEVEL` from the environment, else `info`. */
  level?: string;
  /**
   * Extra whole keys whose values are always replaced by `[redacted]`, on top of the shared list of
   * `@tether/redact` (password, secret, token, api key, authorization, cookie, dsn, … as whole
   * words of the key). Case-insensitive.
   */
  redactKeys?: string[];
  /** Where lines go. Default: stdout (pino's synchronous-enough default destination). */
  destination?: DestinationStream;
  /** Fields on every line (pino `base`). Default: pid and hostname, as pino does. */
  base?: Record<string, unknown> | null;
}

const levels = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

/** trace_id/span_id/trace_flags of the active span, so every line inside a request joins its trace. */
function traceFields(): Record<string, string> {
  const span = trace.getActiveSpan();
  if (!span) return {};
  const ctx = span.spanContext();
  if (!isSpanContextValid(ctx)) return {};
  return {
    trace_id: ctx.traceId,
    span_id: ctx.spanId,
    trace_flags: `0${ctx.traceFlags.toString(16)}`.slice(-2),
  };
}

/**
 * A pino logger that stamps `trace_id`/`span_id` on every line written inside a span and redacts
 * secrets (by key at any depth, and DSN credentials / bearer tokens / JWTs inside any string).
 * Works with or without a started SDK (no span, no trace fields).
 */
export function createLogger(config: LoggerConfig = {}): Logger {
  const level = oneOfOption(
    config.level === undefined ? 'LOG_LEVEL' : 'level',
    config.level ?? process.env['LOG_LEVEL'],
    'info',
    [...levels],
  );
  if (
    config.redactKeys !== undefined &&
    (!Array.isArray(config.redactKeys) || config.redactKeys.some((k) => typeof k !== 'string'))
  ) {
    throw new TetherInvalidOptionError('redactKeys', 'must be an array of strings', {
      value: config.redactKeys,
    });
  }
  const extraKeys: ReadonlySet<string> = new Set((config.redactKeys ?? []).map((k) => k.toLowerCase()));
  const options: LoggerOptions = {
    level,
    mixin: traceFields,
    formatters: {
      log: (object) => redactValue(object, extraKeys) as Record<string, unknown>,
    },
    hooks: { streamWrite: jsonLineRedactor(extraKeys) },
  };
  if (config.name !== undefined) options.name = config.name;
  if (config.base !== undefined) options.base = config.base;
  return config.destination ? pino(options, config.destination) : pino(options);
}

export type { Logger };
