import { isSecretKey, mayContainSecretKey, REDACTED, redactText } from '@tether/redact';

// A JSON string member of a finished log line: `"key":"value"` (escapes honoured).
const stringMember = /"((?:[^"\\]|\\.)*)":"(?:[^"\\]|\\.)*"/g;

/**
 * The logger's last pass, on each finished JSON line: `redactText` (DSN credentials, bearer tokens,
 * JWTs, `password=` and query secrets inside any string), plus `"<secret key>":"…"` string members.
 * The latter catches what never passes through pino's object formatter: child logger bindings and
 * serialised errors' own properties. Keys are judged by the shared `isSecretKey`.
 */
export function jsonLineRedactor(extraKeys: ReadonlySet<string>): (line: string) => string {
  const redactMember = (member: string, key: string) =>
    isSecretKey(key, extraKeys) ? `"${key}":"${REDACTED}"` : member;
  return (line) => {
    const text = redactText(line);
    // Most lines name no secret key at all: one cheap test instead of judging every member.
    return extraKeys.size > 0 || mayContainSecretKey(text) ? text.replace(stringMember, redactMember) : text;
  };
}
