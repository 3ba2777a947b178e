import { createStderrLogger } from '@tether/errors/log-line';
import { MASK, redactText } from '@tether/redact';

/** The pino-compatible subset this lib logs through (`pino()` instances fit as they are). */
export interface Logger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** What a `logger` option must have. */
export const LOGGER_METHODS = ['debug', 'info', 'warn', 'error'] as const;

/**
 * Default logger: warnings and errors as one pino-shaped JSON line each on stderr (the line every
 * Tether lib writes, `@tether/errors/log-line`), nothing else. A library should not pick a logging
 * framework for the app; pass the app's pino logger instead.
 */
export const stderrLogger: Logger = createStderrLogger('tether-pooling', 'warn');

const MAX_SECRETS = 32;

/**
 * Removes credentials from text: whatever the shared rule of @tether/redact masks (URL credentials,
 * secret `key=value` / `key: value` pairs, bearer tokens, JWTs), and every secret value this pool
 * knows (the password from options or read from the password file), which no key word announces.
 */
export class Redactor {
  private readonly secrets = new Set<string>();

  add(secret: string | undefined): void {
    // Very short "secrets" would blank out ordinary words in every message.
    if (!secret || secret.length < 4 || this.secrets.has(secret)) return;
    this.secrets.add(secret);
    // A password function returns a new token every few minutes: remember the recent ones only.
    if (this.secrets.size > MAX_SECRETS) this.secrets.delete(this.secrets.values().next().value as string);
  }

  redact(text: string): string {
    let out = redactText(text);
    for (const secret of this.secrets) out = out.replaceAll(secret, MASK);
    return out;
  }
}

/**
 * A plain, redacted description of an error for logs. Never log the error object itself: pg-pool
 * attaches the client to idle errors (`err.client`), and a client's `connectionParameters` hold the
 * password in an enumerable field that serializers would happily print.
 */
export function describeForLog(
  error: unknown,
  redactor: Redactor,
): { code?: string; name: string; message: string } {
  if (!(error instanceof Error)) return { name: typeof error, message: redactor.redact(String(error)) };
  const code = (error as { code?: unknown }).code;
  return {
    ...(typeof code === 'string' ? { code } : {}),
    name: error.name,
    message: redactor.redact(error.message),
  };
}
