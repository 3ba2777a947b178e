import { isSecretKey, isSecretQueryParam } from './secret-keys.ts';

/** What replaces a secret inside text (a URL's credentials, a `password=` value, a bearer token). */
export const MASK = '***';

// Each pattern keeps what helps debugging (scheme, host, the key's name) and drops the secret. None
// crosses a `"`, so they are safe on JSON text too (a log line).
// scheme://user:password@host -> scheme://***@host (postgres, redis, amqp, http basic auth)
const credentialsInUrl = /([a-z][a-z0-9+.-]*:\/\/)[^\s"'/@]+@/gi;
// Authorization header values, before `key: value` below turns `Authorization: Bearer x` into a
// half-masked `Authorization: *** x`.
const authScheme = /\b(Bearer|Basic|Digest)\s+[A-Za-z0-9._~+/=-]+/g;
const authSchemeWord = /^(Bearer|Basic|Digest)$/;
// Bare JWTs (three base64url segments, the first a JSON header).
const jwt = /\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g;
// `key=value` and `key: value` wherever the key is secret by `isSecretKey`: libpq keyword/value
// DSNs (`password=x`), query strings (`?access_token=x&api_key=y`), `token: x` in a message. Only
// the key and separator are matched: a non-secret key's "value" (`wss://gw/x?access_token=…`) must
// stay open to the scan, or the secret inside it would be skipped.
const keyThenSeparator = /\b([A-Za-z][\w.-]*)(\s*[=:]\s*)/g;
const secretValue = /^(?:'[^']*'|[^\s"'&;,]+)/;

function maskKeyValues(text: string): string {
  let out = '';
  let copied = 0;
  keyThenSeparator.lastIndex = 0;
  for (let m = keyThenSeparator.exec(text); m !== null; m = keyThenSeparator.exec(text)) {
    const [whole, key, separator] = m as unknown as [string, string, string];
    const valueAt = m.index + whole.length;
    const inQuery = separator === '=' && (text[m.index - 1] === '?' || text[m.index - 1] === '&');
    if (!(inQuery ? isSecretQueryParam(key) : isSecretKey(key))) continue;
    const value = secretValue.exec(text.slice(valueAt))?.[0];
    // Nothing to hide, already masked, or the scheme word of an `Authorization: Bearer ***`.
    if (value === undefined || value === MASK || authSchemeWord.test(value)) continue;
    out += `${text.slice(copied, valueAt)}${MASK}`;
    copied = valueAt + value.length;
    keyThenSeparator.lastIndex = copied;
  }
  return copied === 0 ? text : out + text.slice(copied);
}

// Every entry of the lists in secret-keys.ts contains one of these: text without any of them cannot
// hold a secret key, and skips the word-by-word scan (most log lines).
const secretKeyFragment = /pw|pass|secret|token|key|auth|cookie|credential|dsn|connection|sig|code/i;

/**
 * True when `text` may name a secret key somewhere (a cheap prefilter for scans that judge every
 * key of a text with `isSecretKey`); false means it certainly does not.
 */
export function mayContainSecretKey(text: string): boolean {
  return secretKeyFragment.test(text);
}

/**
 * Scrubs credentials from free text: a driver's error message, a log line, an outage description.
 * Uses the same key list as `isSecretKey`.
 */
export function redactText(text: string): string {
  let out = text;
  if (out.includes('://')) out = out.replace(credentialsInUrl, `$1${MASK}@`);
  if (out.includes('Bearer') || out.includes('Basic') || out.includes('Digest'))
    out = out.replace(authScheme, `$1 ${MASK}`);
  if (out.includes('eyJ')) out = out.replace(jwt, `${MASK}jwt`);
  return secretKeyFragment.test(out) ? maskKeyValues(out) : out;
}
