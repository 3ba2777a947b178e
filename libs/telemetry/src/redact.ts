/**
 * Secret redaction for logs. Two layers, because secrets arrive two ways:
 * - by KEY (`{ password }`, `headers.authorization`, `AUTH_JWT_SECRET`): the value is replaced,
 *   at any depth, before pino serialises the object;
 * - inside STRINGS (a DSN in an error message or stack, `Bearer …` in a header dump): patterns are
 *   scrubbed from the final JSON line, which also covers the message and child bindings.
 */

export const REDACTED = '[redacted]';

const secretKey =
  /pass(word)?|passwd|pwd|secret|token|api[-_]?key|authorization|cookie|credential|private[-_]?key/i;

// Each pattern keeps what helps debugging (scheme, host, keyword) and drops the secret. They run on
// JSON text, so a match never crosses a string boundary (`"` is excluded).
const stringPatterns: [RegExp, string][] = [
  // scheme://user:password@host -> scheme://***@host (postgres, redis, amqp, http basic auth)
  [/([a-z][a-z0-9+.-]*:\/\/)[^\s"/@]+@/gi, '$1***@'],
  // libpq keyword/value DSN and similar: password=secret
  [/\b(password|passwd|pwd)(\s*[=:]\s*)('[^']*'|[^\s"&;,]+)/gi, '$1$2***'],
  // Authorization header values
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/g, '$1 ***'],
  // bare JWTs (three base64url segments starting with a JSON header)
  [/eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g, '***jwt'],
  // query-string tokens, e.g. the ws gateway's ?access_token=
  [/([?&](?:access_token|token|api_key|apikey|password)=)[^&\s"]+/gi, '$1***'],
];

/** Scrubs secret-looking patterns from text (a log line, an error message). */
export function redactString(text: string): string {
  let out = text;
  for (const [pattern, replacement] of stringPatterns) out = out.replace(pattern, replacement);
  return out;
}

const secretKeySource = secretKey.source;
const escape = (key: string) => key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * A scrubber for finished JSON log lines: the string patterns above, plus `"<secret key>":"…"`
 * string values. The latter catches what never passes through pino's object formatter: child
 * logger bindings, and serialised errors' own properties.
 */
export function jsonLineRedactor(extraKeys: ReadonlySet<string>): (line: string) => string {
  const keys = [secretKeySource, ...[...extraKeys].map(escape)].join('|');
  const pair = new RegExp(`("[^"]*(?:${keys})[^"]*":)"(?:[^"\\\\]|\\\\.)*"`, 'gi');
  return (line) => redactString(line).replace(pair, `$1"${REDACTED}"`);
}

export function isSecretKey(key: string, extraKeys: ReadonlySet<string>): boolean {
  return secretKey.test(key) || extraKeys.has(key.toLowerCase());
}

const maxDepth = 8;

/**
 * Returns a copy of `value` with every secret-keyed value replaced by `[redacted]`, whatever its
 * type. Errors are left to pino's serializer; their text is scrubbed on the finished line. Never
 * mutates the caller's object.
 */
export function redactValue(
  value: unknown,
  extraKeys: ReadonlySet<string>,
  depth = 0,
  seen = new WeakSet<object>(),
): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (depth >= maxDepth) return '[depth limit]';
  if (seen.has(value)) return '[circular]';
  seen.add(value);
  if (value instanceof Error) return value;
  if (Array.isArray(value)) return value.map((v) => redactValue(v, extraKeys, depth + 1, seen));
  if (value instanceof Date || ArrayBuffer.isView(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    out[key] =
      isSecretKey(key, extraKeys) && v !== undefined && v !== null && v !== ''
        ? REDACTED
        : redactValue(v, extraKeys, depth + 1, seen);
  }
  return out;
}
