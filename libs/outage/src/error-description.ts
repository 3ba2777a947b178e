import type { Attributes } from '@opentelemetry/api';
import { redactText } from '@tether/redact';

/**
 * Removes credentials from a driver error message before it is attached to telemetry: driver
 * errors sometimes echo the DSN they were given, and an outage span is exported to a tracing
 * backend. The workspace's one rule (`redactText` from @tether/redact); kept under this name for
 * the libs that import it from here.
 */
export const redactMessage: (message: string) => string = redactText;

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
