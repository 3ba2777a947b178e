import type { Attributes } from '@opentelemetry/api';

// `scheme://user:password@host` -> `scheme://***@host`. Driver errors sometimes echo the DSN they
// were given; an outage span is exported to a tracing backend, so it must never carry credentials.
const credentialsInUrl = /([a-z][a-z0-9+.-]*:\/\/)[^\s/@]+@/gi;
// `password=secret` style fragments (libpq keyword/value connection strings).
const passwordPair = /\b(password|passwd|pwd)\s*=\s*('[^']*'|\S+)/gi;

/** Removes credentials from a driver error message before it is attached to telemetry. */
export function redactMessage(message: string): string {
  return message.replace(credentialsInUrl, '$1***@').replace(passwordPair, '$1=***');
}

/**
 * Semantic-convention attributes for an error: `error.type` is the most specific stable identifier
 * the error offers (a SQLSTATE or errno code beats a class name), `exception.message` is redacted.
 */
export function describeError(error: unknown): Attributes {
  if (error === undefined || error === null) return {};
  if (typeof error !== 'object')
    return { 'error.type': typeof error, 'exception.message': redactMessage(String(error)) };
  const { code, name, message } = error as { code?: unknown; name?: unknown; message?: unknown };
  const type =
    typeof code === 'string' || typeof code === 'number'
      ? String(code)
      : typeof name === 'string'
        ? name
        : 'Error';
  const attributes: Attributes = { 'error.type': type };
  if (typeof message === 'string' && message.length > 0)
    attributes['exception.message'] = redactMessage(message);
  return attributes;
}
